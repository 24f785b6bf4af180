package io.pastaserve.cli.chaos;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Reads the suite's Redis through {@code redis-cli} (installed with {@code redis-server}): the keys of requests,
 * their TTLs and statuses, for the leak checks after the load.
 */
final class RedisInspector {

  private final int port;

  RedisInspector(int port) {
    this.port = port;
  }

  /** Every key matching {@code pattern} ({@code SCAN}, so a large keyspace does not block the server). */
  List<String> keys(String pattern) throws IOException, InterruptedException {
    return cli(List.of("--scan", "--pattern", pattern), List.of());
  }

  /** The answers of {@code commands} (one command a line, no spaces inside arguments), one line each. */
  List<String> run(List<String> commands) throws IOException, InterruptedException {
    return cli(List.of(), commands);
  }

  private List<String> cli(List<String> args, List<String> stdin) throws IOException, InterruptedException {
    List<String> command = new ArrayList<>(List.of("redis-cli", "-p", String.valueOf(port)));
    command.addAll(args);
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    try (OutputStream in = p.getOutputStream()) {
      for (String line : stdin) {
        in.write((line + "\n").getBytes(StandardCharsets.UTF_8));
      }
    }
    byte[] output = p.getInputStream().readAllBytes();
    if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
      p.destroyForcibly();
      throw new IOException("redis-cli failed: " + new String(output, StandardCharsets.UTF_8));
    }
    return new String(output, StandardCharsets.UTF_8).lines().toList();
  }
}
