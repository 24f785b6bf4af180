package io.pastaserve.testing;

import java.io.IOException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * A real {@code redis-server} process on a loopback port. Needs {@code redis-server} on the PATH (Debian package
 * {@code redis-server}; {@code .ci/run} installs it). Test servers keep nothing on disk; a {@link #persistent}
 * server writes an append-only file synced on every write, so it can be killed and started again on the same port
 * and directory and comes back with every write it acknowledged.
 */
public final class RedisTestServer implements AutoCloseable {

  private final int port;
  private final Path dir;
  private final List<String> options;
  private Process process;

  private RedisTestServer(int port, Path dir, List<String> options) {
    this.port = port;
    this.dir = dir;
    this.options = options;
  }

  /** A started server without persistence, on a free port. */
  public static RedisTestServer start() throws IOException, InterruptedException {
    return started(List.of("--save", "", "--appendonly", "no"));
  }

  /**
   * A started server that admits only the ACL user {@code user} with {@code password} (the default user is off), as
   * a production Redis would be set up.
   */
  public static RedisTestServer startWithAcl(String user, String password) throws IOException, InterruptedException {
    return started(List.of("--save", "", "--appendonly", "no", "--user", "default", "off", "--user", user, "on",
        ">" + password, "~*", "&*", "+@all"));
  }

  /** A server, not started yet ({@link #launch}), with {@code appendfsync always} in {@code dir}, on a free port of its own. */
  public static RedisTestServer persistent(Path dir) throws IOException {
    return new RedisTestServer(ServiceProcess.freePort(), dir, List.of("--appendonly", "yes", "--appendfsync",
        "always", "--save", ""));
  }

  private static RedisTestServer started(List<String> options) throws IOException, InterruptedException {
    RedisTestServer server = new RedisTestServer(ServiceProcess.freePort(), Files.createTempDirectory("redis-test"),
        options);
    server.launch();
    return server;
  }

  /** Starts the server and waits until it answers PING (an append-only file, if any, loaded). */
  public void launch() throws IOException, InterruptedException {
    Files.createDirectories(dir);
    List<String> command = new ArrayList<>(List.of("redis-server", "--port", String.valueOf(port), "--bind",
        "127.0.0.1", "--dir", dir.toString()));
    command.addAll(options);
    process = new ProcessBuilder(command).redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("redis.log").toFile())).start();
    Instant deadline = Instant.now().plus(Duration.ofSeconds(20));
    while (Instant.now().isBefore(deadline)) {
      if (!process.isAlive()) {
        throw new IOException("redis-server exited: " + Files.readString(dir.resolve("redis.log")));
      }
      if (answers()) {
        return;
      }
      Thread.sleep(50);
    }
    process.destroyForcibly();
    throw new IOException("redis-server did not answer on port " + port + " within 20 s");
  }

  /**
   * True once the server answers PING: with PONG, or (ACL servers) by asking to authenticate — anything but
   * {@code LOADING}.
   */
  private boolean answers() {
    try (Socket s = new Socket("127.0.0.1", port)) {
      s.setSoTimeout(1000);
      s.getOutputStream().write("PING\r\n".getBytes(StandardCharsets.US_ASCII));
      byte[] buf = new byte[128];
      int n = s.getInputStream().read(buf);
      String reply = n > 0 ? new String(buf, 0, n, StandardCharsets.US_ASCII) : "";
      return reply.startsWith("+PONG") || reply.startsWith("-NOAUTH");
    } catch (IOException e) {
      return false;
    }
  }

  /** SIGKILL: what an OOM kill or a lost node does; a persistent server's file keeps what was acknowledged. */
  public void kill() throws InterruptedException {
    if (process != null) {
      process.destroyForcibly();
      process.waitFor();
    }
  }

  public int port() {
    return port;
  }

  @Override
  public void close() {
    Processes.stop(process, Duration.ofSeconds(10));
  }

}
