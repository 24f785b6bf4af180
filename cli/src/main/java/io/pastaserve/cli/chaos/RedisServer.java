package io.pastaserve.cli.chaos;

import java.io.IOException;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.TimeUnit;

/**
 * A {@code redis-server} process on a fixed loopback port with an append-only file synced on every write
 * ({@code appendfsync always}): it can be killed and started again on the same port and directory, and comes back
 * with every write it acknowledged.
 */
final class RedisServer implements AutoCloseable {

  private final int port;
  private final Path dir;
  private Process process;

  RedisServer(int port, Path dir) {
    this.port = port;
    this.dir = dir;
  }

  int port() {
    return port;
  }

  /** Starts the server and waits until it accepts connections and has loaded its append-only file. */
  void start() throws IOException, InterruptedException {
    Files.createDirectories(dir);
    process = new ProcessBuilder("redis-server", "--port", String.valueOf(port), "--bind", "127.0.0.1",
        "--dir", dir.toString(), "--appendonly", "yes", "--appendfsync", "always", "--save", "")
        .redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("redis.log").toFile()))
        .start();
    Instant deadline = Instant.now().plus(Duration.ofSeconds(20));
    while (Instant.now().isBefore(deadline)) {
      if (!process.isAlive()) {
        throw new IOException("redis-server exited; see " + dir.resolve("redis.log"));
      }
      if (ping()) {
        return;
      }
      Thread.sleep(50);
    }
    throw new IOException("redis-server did not answer PING on " + port + " within 20 s");
  }

  /** SIGKILL: what an OOM kill or a lost node does; the append-only file keeps what was acknowledged. */
  void kill() throws InterruptedException {
    if (process != null) {
      process.destroyForcibly();
      process.waitFor();
    }
  }

  /** True when the server answers PING with PONG (not LOADING). */
  boolean ping() {
    try (Socket s = new Socket("127.0.0.1", port)) {
      s.setSoTimeout(1000);
      s.getOutputStream().write("PING\r\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
      byte[] buf = new byte[64];
      int n = s.getInputStream().read(buf);
      return n > 0 && new String(buf, 0, n, java.nio.charset.StandardCharsets.US_ASCII).startsWith("+PONG");
    } catch (IOException e) {
      return false;
    }
  }

  @Override
  public void close() {
    if (process != null) {
      process.destroy();
      try {
        if (!process.waitFor(10, TimeUnit.SECONDS)) {
          process.destroyForcibly();
        }
      } catch (InterruptedException e) {
        process.destroyForcibly();
        Thread.currentThread().interrupt();
      }
    }
  }
}
