package io.pastaserve.testing;

import java.io.IOException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.UUID;

/**
 * A real single-node KRaft Kafka broker in a process of its own, from the {@code kafka_2.13} jars on the test
 * classpath: storage formatted, then {@code kafka.Kafka server.properties}, on free loopback ports.
 */
public final class KafkaBrokerProcess implements AutoCloseable {

  private final Process process;
  private final int port;
  private final Path dir;

  private KafkaBrokerProcess(Process process, int port, Path dir) {
    this.process = process;
    this.port = port;
    this.dir = dir;
  }

  public static KafkaBrokerProcess start(int partitions) throws IOException, InterruptedException {
    int port = ServiceProcess.freePort();
    int controller = ServiceProcess.freePort();
    Path dir = Files.createTempDirectory("kafka-test");
    Path properties = dir.resolve("server.properties");
    Files.writeString(properties, String.join("\n",
        "process.roles=broker,controller",
        "node.id=1",
        "controller.quorum.voters=1@127.0.0.1:" + controller,
        "listeners=PLAINTEXT://127.0.0.1:" + port + ",CONTROLLER://127.0.0.1:" + controller,
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
    String clusterId = kafkaUuid();
    run(dir, "format.log", List.of("kafka.tools.StorageTool", "format", "-t", clusterId, "-c",
        properties.toString()), true);
    Process process = run(dir, "kafka.log", List.of("kafka.Kafka", properties.toString()), false);
    Instant deadline = Instant.now().plus(Duration.ofSeconds(60));
    while (Instant.now().isBefore(deadline)) {
      if (!process.isAlive()) {
        throw new IOException("Kafka exited: " + Files.readString(dir.resolve("kafka.log")));
      }
      try (Socket ignored = new Socket("127.0.0.1", port)) {
        return new KafkaBrokerProcess(process, port, dir);
      } catch (IOException notYet) {
        Thread.sleep(100);
      }
    }
    process.destroyForcibly();
    throw new IOException("Kafka did not listen on " + port + " within 60 s");
  }

  /** A cluster id in Kafka's format: 16 random bytes, URL-safe base64 without padding. */
  private static String kafkaUuid() {
    UUID u = UUID.randomUUID();
    java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(16);
    b.putLong(u.getMostSignificantBits()).putLong(u.getLeastSignificantBits());
    return java.util.Base64.getUrlEncoder().withoutPadding().encodeToString(b.array());
  }

  private static Process run(Path dir, String log, List<String> mainAndArgs, boolean wait)
      throws IOException, InterruptedException {
    List<String> command = new java.util.ArrayList<>(List.of(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx512m",
        "-cp", System.getProperty("java.class.path")));
    command.addAll(mainAndArgs);
    Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(dir.resolve(log).toFile())
        .start();
    if (wait && p.waitFor() != 0) {
      throw new IOException(mainAndArgs.get(0) + " failed: " + Files.readString(dir.resolve(log)));
    }
    return p;
  }

  public String bootstrapServers() {
    return "127.0.0.1:" + port;
  }

  @Override
  public void close() {
    process.destroy();
    try {
      if (!process.waitFor(15, java.util.concurrent.TimeUnit.SECONDS)) {
        process.destroyForcibly();
      }
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
    }
  }
}
