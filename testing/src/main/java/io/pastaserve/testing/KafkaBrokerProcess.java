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
import java.util.UUID;
import java.util.concurrent.TimeUnit;

/**
 * A real single-node KRaft Kafka broker (broker and controller in one process) in a process of its own, from the
 * {@code kafka_2.13} jars on the test classpath or in a directory, on loopback ports. Storage is formatted at the
 * first start; the broker can be stopped and started again on the same ports and log directory, with its topics,
 * offsets and consumer groups intact.
 */
public final class KafkaBrokerProcess implements AutoCloseable {

  private final String classpath;
  private final Path dir;
  private final int port;
  private final int controllerPort;
  private final List<String> config;
  private Process process;

  private KafkaBrokerProcess(String classpath, Path dir, int port, int controllerPort, List<String> config) {
    this.classpath = classpath;
    this.dir = dir;
    this.port = port;
    this.controllerPort = controllerPort;
    this.config = config;
  }

  /** A started broker from the test classpath, on free ports, in a temporary directory. */
  public static KafkaBrokerProcess start(int partitions) throws IOException, InterruptedException {
    KafkaBrokerProcess broker = plaintext(System.getProperty("java.class.path"),
        Files.createTempDirectory("kafka-test"), partitions);
    broker.launch();
    return broker;
  }

  /**
   * A broker, not started yet ({@link #launch}), from the jars in {@code lib}, with its files in {@code dir}, on free ports that stay
   * its own across restarts.
   */
  public static KafkaBrokerProcess fromJars(Path lib, Path dir, int partitions) throws IOException {
    return plaintext(lib.resolve("*").toString(), dir, partitions);
  }

  private static KafkaBrokerProcess plaintext(String classpath, Path dir, int partitions) throws IOException {
    int port = ServiceProcess.freePort();
    int controller = ServiceProcess.freePort();
    return new KafkaBrokerProcess(classpath, dir, port, controller, config(partitions, List.of(
        "listeners=PLAINTEXT://127.0.0.1:" + port + ",CONTROLLER://127.0.0.1:" + controller,
        "advertised.listeners=PLAINTEXT://127.0.0.1:" + port,
        "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT")));
  }

  /**
   * A started broker whose client listener needs SASL/PLAIN ({@code SASL_PLAINTEXT}): only {@code user} with {@code
   * password} (and the broker's own admin) may connect. Clients set {@code security.protocol=SASL_PLAINTEXT},
   * {@code sasl.mechanism=PLAIN} and {@link #plainJaas}.
   */
  public static KafkaBrokerProcess startWithSasl(int partitions, String user, String password)
      throws IOException, InterruptedException {
    int port = ServiceProcess.freePort();
    int controller = ServiceProcess.freePort();
    KafkaBrokerProcess broker = new KafkaBrokerProcess(System.getProperty("java.class.path"),
        Files.createTempDirectory("kafka-test"), port, controller, config(partitions, List.of(
        "listeners=SASL_PLAINTEXT://127.0.0.1:" + port + ",CONTROLLER://127.0.0.1:" + controller,
        "advertised.listeners=SASL_PLAINTEXT://127.0.0.1:" + port,
        "listener.security.protocol.map=CONTROLLER:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT",
        "inter.broker.listener.name=SASL_PLAINTEXT",
        "sasl.enabled.mechanisms=PLAIN",
        "sasl.mechanism.inter.broker.protocol=PLAIN",
        "listener.name.sasl_plaintext.plain.sasl.jaas.config="
            + "org.apache.kafka.common.security.plain.PlainLoginModule required username=\"broker\" "
            + "password=\"broker-secret\" user_broker=\"broker-secret\" user_" + user + "=\"" + password + "\";")));
    broker.launch();
    return broker;
  }

  /** The client JAAS line for SASL/PLAIN. */
  public static String plainJaas(String user, String password) {
    return "org.apache.kafka.common.security.plain.PlainLoginModule required username=\"" + user
        + "\" password=\"" + password + "\";";
  }

  private static List<String> config(int partitions, List<String> listeners) {
    List<String> lines = new ArrayList<>(List.of(
        "process.roles=broker,controller",
        "node.id=1",
        "controller.listener.names=CONTROLLER"));
    lines.addAll(listeners);
    lines.addAll(List.of(
        "num.partitions=" + partitions,
        "offsets.topic.replication.factor=1",
        "offsets.topic.num.partitions=4",
        "transaction.state.log.replication.factor=1",
        "transaction.state.log.min.isr=1",
        "group.initial.rebalance.delay.ms=0"));
    return lines;
  }

  /** Formats the storage on first use, starts the broker and waits until it listens. */
  public void launch() throws IOException, InterruptedException {
    Path properties = dir.resolve("server.properties");
    if (!Files.exists(dir.resolve("data/meta.properties"))) {
      Files.createDirectories(dir);
      List<String> lines = new ArrayList<>(config);
      lines.add("controller.quorum.voters=1@127.0.0.1:" + controllerPort);
      lines.add("log.dirs=" + dir.resolve("data"));
      lines.add("");
      Files.writeString(properties, String.join("\n", lines), StandardCharsets.UTF_8);
      Process format = java("format.log", List.of("kafka.tools.StorageTool", "format", "-t", kafkaUuid(), "-c",
          properties.toString()));
      if (!format.waitFor(120, TimeUnit.SECONDS) || format.exitValue() != 0) {
        format.destroyForcibly();
        throw new IOException("formatting Kafka storage failed: " + Files.readString(dir.resolve("format.log")));
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
    process.destroyForcibly();
    throw new IOException("the Kafka broker did not listen on " + port + " within 90 s");
  }

  /** A clean stop (SIGTERM: controlled shutdown, logs flushed), SIGKILL after 30 s; its port is free after it. */
  public void stop() throws InterruptedException {
    if (process == null) {
      return;
    }
    process.destroy();
    if (!process.waitFor(30, TimeUnit.SECONDS)) {
      process.destroyForcibly();
      process.waitFor();
    }
    Instant deadline = Instant.now().plus(Duration.ofSeconds(10));
    while (Instant.now().isBefore(deadline)) {
      try (Socket ignored = new Socket("127.0.0.1", port)) {
        Thread.sleep(100);
      } catch (IOException closed) {
        return;
      }
    }
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

  private Process java(String log, List<String> mainAndArgs) throws IOException {
    List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java")
        .toString(), "-Xmx512m", "-XX:+UseSerialGC", "-cp", classpath));
    command.addAll(mainAndArgs);
    return new ProcessBuilder(command).redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve(log).toFile())).start();
  }

  public String bootstrapServers() {
    return "127.0.0.1:" + port;
  }

  @Override
  public void close() {
    Processes.stop(process, Duration.ofSeconds(15));
  }

}
