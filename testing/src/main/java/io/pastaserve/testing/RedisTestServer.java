package io.pastaserve.testing;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

/**
 * A real {@code redis-server} process on a free loopback port, with no persistence, for tests. Needs
 * {@code redis-server} on the PATH (Debian package {@code redis-server}; {@code .ci/run} installs it).
 */
public final class RedisTestServer implements AutoCloseable {

  private final Process process;
  private final int port;

  private RedisTestServer(Process process, int port) {
    this.process = process;
    this.port = port;
  }

  public static RedisTestServer start() throws IOException, InterruptedException {
    return start(List.of());
  }

  /**
   * A Redis that admits only the ACL user {@code user} with {@code password} (the default user is off), as a
   * production Redis would be set up.
   */
  public static RedisTestServer startWithAcl(String user, String password) throws IOException, InterruptedException {
    return start(List.of("--user", "default", "off", "--user", user, "on", ">" + password, "~*", "&*", "+@all"));
  }

  private static RedisTestServer start(List<String> extra) throws IOException, InterruptedException {
    int port;
    try (ServerSocket socket = new ServerSocket(0)) {
      port = socket.getLocalPort();
    }
    Path dir = Files.createTempDirectory("redis-test");
    List<String> command = new java.util.ArrayList<>(List.of("redis-server", "--port", String.valueOf(port),
        "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir.toString()));
    command.addAll(extra);
    Process process = new ProcessBuilder(command)
        .redirectErrorStream(true)
        .redirectOutput(dir.resolve("redis.log").toFile())
        .start();
    Instant deadline = Instant.now().plus(Duration.ofSeconds(10));
    while (Instant.now().isBefore(deadline)) {
      if (!process.isAlive()) {
        throw new IOException("redis-server exited: " + Files.readString(dir.resolve("redis.log")));
      }
      try (Socket ignored = new Socket("127.0.0.1", port)) {
        return new RedisTestServer(process, port);
      } catch (IOException notYet) {
        Thread.sleep(50);
      }
    }
    process.destroyForcibly();
    throw new IOException("redis-server did not listen on port " + port + " within 10 s");
  }

  public int port() {
    return port;
  }

  @Override
  public void close() {
    process.destroy();
  }
}
