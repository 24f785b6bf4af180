package io.pastaserve.cli.chaos;

import java.io.IOException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

/**
 * A single-node KRaft broker (broker and controller in one process) from the Kafka jars in {@code lib}, on fixed
 * loopback ports with a fixed log directory, so that it can be stopped and started again with its topics, offsets
 * and consumer groups intact. Storage is formatted once, at the first start.
 */
final class KafkaBroker implements AutoCloseable {

  private final Path lib;
  private final Path dir;
  private final int port;
  private final int controllerPort;
  private final int partitions;
  private Process process;

  KafkaBroker(Path lib, Path dir, int port, int controllerPort, int partitions) {
    this.lib = lib;
    this.dir = dir;
    this.port = port;
    this.controllerPort = controllerPort;
    this.partitions = partitions;
  }

  String bootstrapServers() {
    return "127.0.0.1:" + port;
  }

  /** Formats the storage on first use, starts the broker and waits until it listens. */
  void start() throws IOException, InterruptedException {
    Path properties = dir.resolve("server.properties");
    if (!Files.exists(dir.resolve("data/meta.properties"))) {
      Files.createDirectories(dir);
      Files.writeString(properties, String.join("\n",
          "process.roles=broker,controller",
          "node.id=1",
          "controller.quorum.voters=1@127.0.0.1:" + controllerPort,
          "listeners=PLAINTEXT://127.0.0.1:" + port + ",CONTROLLER://127.0.0.1:" + controllerPort,
          "advertised.listeners=PLAINTEXT://127.0.0.1:" + port,
          "controller.listener.names=CONTROLLER",
          "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
          "log.dirs=" + dir.resolve("data"),
          "num.partitions=" + partitions,
          "offsets.topic.replication.factor=1",
          "offsets.topic.num.partitions=4",
          "transaction.state.log.replication.factor=1",
          "transaction.state.log.min.isr=1",
          "group.initial.rebalance.delay.ms=0",
          ""), StandardCharsets.UTF_8);
      Process format = java("format.log", List.of("kafka.tools.StorageTool", "format", "-t", clusterId(), "-c",
          properties.toString()));
      if (!format.waitFor(120, TimeUnit.SECONDS) || format.exitValue() != 0) {
        throw new IOException("formatting Kafka storage failed; see " + dir.resolve("format.log"));
      }
    }
    process = java("kafka.log", List.of("kafka.Kafka", properties.toString()));
    Instant deadline = Instant.now().plus(Duration.ofSeconds(90));
    while (Instant.now().isBefore(deadline)) {
      if (!process.isAlive()) {
        throw new IOException("the Kafka broker exited; see " + dir.resolve("kafka.log"));
      }
      try (Socket ignored = new Socket("127.0.0.1", port)) {
        return;
      } catch (IOException notYet) {
        Thread.sleep(100);
      }
    }
    throw new IOException("the Kafka broker did not listen on " + port + " within 90 s");
  }

  /** A clean stop (SIGTERM: controlled shutdown, logs flushed), SIGKILL after 30 s. */
  void stop() throws InterruptedException {
    if (process == null) {
      return;
    }
    process.destroy();
    if (!process.waitFor(30, TimeUnit.SECONDS)) {
      process.destroyForcibly();
      process.waitFor();
    }
    // the listener port must be free again before the next start binds it
    Instant deadline = Instant.now().plus(Duration.ofSeconds(10));
    while (Instant.now().isBefore(deadline)) {
      try (Socket ignored = new Socket("127.0.0.1", port)) {
        Thread.sleep(100);
      } catch (IOException closed) {
        return;
      }
    }
  }

  private Process java(String log, List<String> mainAndArgs) throws IOException {
    List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java")
        .toString(), "-Xmx512m", "-XX:+UseSerialGC", "-cp", lib.resolve("*").toString()));
    command.addAll(mainAndArgs);
    return new ProcessBuilder(command).redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve(log).toFile())).start();
  }

  /**
   * A cluster id in Kafka's format: 16 random bytes, URL-safe base64 without padding. Like Kafka's own
   * {@code Uuid.randomUuid()}, it never starts with '-', which the storage tool's argument parser would
   * take for an option.
   */
  private static String clusterId() {
    while (true) {
      UUID u = UUID.randomUUID();
      java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(16);
      b.putLong(u.getMostSignificantBits()).putLong(u.getLeastSignificantBits());
      String id = java.util.Base64.getUrlEncoder().withoutPadding().encodeToString(b.array());
      if (!id.startsWith("-")) {
        return id;
      }
    }
  }

  @Override
  public void close() {
    try {
      stop();
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
    }
  }
}
