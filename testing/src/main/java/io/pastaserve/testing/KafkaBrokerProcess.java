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
    return start(partitions, port, controller, List.of(
        "listeners=PLAINTEXT://127.0.0.1:" + port + ",CONTROLLER://127.0.0.1:" + controller,
        "advertised.listeners=PLAINTEXT://127.0.0.1:" + port,
        "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT"));
  }

  /**
   * A broker whose client listener needs SASL/PLAIN ({@code SASL_PLAINTEXT}): only {@code user} with {@code
   * password} (and the broker's own admin) may connect. Clients set {@code security.protocol=SASL_PLAINTEXT},
   * {@code sasl.mechanism=PLAIN} and {@link #plainJaas}.
   */
  public static KafkaBrokerProcess startWithSasl(int partitions, String user, String password)
      throws IOException, InterruptedException {
    int port = ServiceProcess.freePort();
    int controller = ServiceProcess.freePort();
    return start(partitions, port, controller, List.of(
        "listeners=SASL_PLAINTEXT://127.0.0.1:" + port + ",CONTROLLER://127.0.0.1:" + controller,
        "advertised.listeners=SASL_PLAINTEXT://127.0.0.1:" + port,
        "listener.security.protocol.map=CONTROLLER:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT",
        "inter.broker.listener.name=SASL_PLAINTEXT",
        "sasl.enabled.mechanisms=PLAIN",
        "sasl.mechanism.inter.broker.protocol=PLAIN",
        "listener.name.sasl_plaintext.plain.sasl.jaas.config="
            + "org.apache.kafka.common.security.plain.PlainLoginModule required username=\"broker\" "
            + "password=\"broker-secret\" user_broker=\"broker-secret\" user_" + user + "=\"" + password + "\";"));
  }

  /** The client JAAS line for SASL/PLAIN. */
  public static String plainJaas(String user, String password) {
    return "org.apache.kafka.common.security.plain.PlainLoginModule required username=\"" + user
        + "\" password=\"" + password + "\";";
  }

  private static KafkaBrokerProcess start(int partitions, int port, int controller, List<String> listeners)
      throws IOException, InterruptedException {
    Path dir = Files.createTempDirectory("kafka-test");
    Path properties = dir.resolve("server.properties");
    List<String> lines = new java.util.ArrayList<>(List.of(
        "process.roles=broker,controller",
        "node.id=1",
        "controller.quorum.voters=1@127.0.0.1:" + controller,
        "controller.listener.names=CONTROLLER"));
    lines.addAll(listeners);
    lines.addAll(List.of(
        "log.dirs=" + dir.resolve("data"),
        "num.partitions=" + partitions,
        "offsets.topic.replication.factor=1",
        "offsets.topic.num.partitions=4",
        "transaction.state.log.replication.factor=1",
        "transaction.state.log.min.isr=1",
        "group.initial.rebalance.delay.ms=0",
        ""));
    Files.writeString(properties, String.join("\n", lines), StandardCharsets.UTF_8);
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

  /**
   * A cluster id in Kafka's format: 16 random bytes, URL-safe base64 without padding. Like Kafka's own
   * {@code Uuid.randomUuid()}, it never starts with '-', which the storage tool's argument parser would
   * take for an option.
   */
  private static String kafkaUuid() {
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
