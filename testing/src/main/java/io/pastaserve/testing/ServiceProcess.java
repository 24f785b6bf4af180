package io.pastaserve.testing;

import java.io.IOException;
import java.net.HttpURLConnection;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A service started as a real process from its runnable jar ({@code java -jar ...-exec.jar}), on a free port of
 * the loopback interface (and, for a service with a management port of its own, a second one), ready once its
 * actuator health says UP. Tests kill it with SIGKILL to see what survives.
 */
public final class ServiceProcess implements AutoCloseable {

  /** Every port {@link #freePort()} gave out in this JVM. */
  private static final Set<Integer> HANDED_OUT = ConcurrentHashMap.newKeySet();

  private final Process process;
  private final int port;
  private final int managementPort;
  private final Path log;

  private ServiceProcess(Process process, int port, int managementPort, Path log) {
    this.process = process;
    this.port = port;
    this.managementPort = managementPort;
    this.log = log;
  }

  /** Starts {@code jar} with {@code args} (Spring properties as {@code --name=value}) and waits for health. */
  public static ServiceProcess start(Path jar, Duration timeout, String... args)
      throws IOException, InterruptedException {
    return start(jar, timeout, false, args);
  }

  /**
   * Like {@link #start(Path, Duration, String...)} for a service that serves health and metrics on a management
   * port of its own (the gateway): a second free port, given as {@code management.server.port}.
   */
  public static ServiceProcess startWithManagementPort(Path jar, Duration timeout, String... args)
      throws IOException, InterruptedException {
    return start(jar, timeout, true, args);
  }

  private static ServiceProcess start(Path jar, Duration timeout, boolean ownManagementPort, String... args)
      throws IOException, InterruptedException {
    if (!Files.isRegularFile(jar)) {
      throw new IOException("no runnable jar at " + jar + " (package the service first)");
    }
    int port = freePort();
    int managementPort = ownManagementPort ? freePort() : port;
    List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java")
        .toString(), "-XX:+UseSerialGC", "-Xmx1g", "-jar", jar.toString(), "--server.port=" + port,
        "--server.address=127.0.0.1"));
    if (ownManagementPort) {
      command.addAll(List.of("--management.server.port=" + managementPort, "--management.server.address=127.0.0.1"));
    }
    command.addAll(List.of(args));
    Path log = Files.createTempFile("service-" + port + "-", ".log");
    Process process = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    ServiceProcess service = new ServiceProcess(process, port, managementPort, log);
    Instant deadline = Instant.now().plus(timeout);
    while (Instant.now().isBefore(deadline)) {
      if (!process.isAlive()) {
        throw new IOException("service exited with " + process.exitValue() + ": " + service.logTail());
      }
      // health alone could be another process's, on a port this one failed to bind: its own port must accept too
      if (service.healthy() && accepting(port)) {
        return service;
      }
      Thread.sleep(200);
    }
    process.destroyForcibly();
    throw new IOException("service not healthy within " + timeout + ": " + service.logTail());
  }

  public int port() {
    return port;
  }

  /** Where health and metrics ({@code /actuator}) are served: {@link #port()} unless started with a port of its own. */
  public int managementPort() {
    return managementPort;
  }

  public boolean healthy() {
    try {
      HttpURLConnection c = (HttpURLConnection) URI.create("http://127.0.0.1:" + managementPort + "/actuator/health")
          .toURL()
          .openConnection();
      c.setConnectTimeout(500);
      c.setReadTimeout(1000);
      try {
        return c.getResponseCode() == 200
            && new String(c.getInputStream().readAllBytes(), StandardCharsets.UTF_8).contains("\"UP\"");
      } finally {
        c.disconnect();
      }
    } catch (IOException e) {
      return false;
    }
  }

  /** SIGKILL: no shutdown hooks, no goodbyes. */
  public void kill() throws InterruptedException {
    process.destroyForcibly();
    process.waitFor();
  }

  /** SIGTERM, as Kubernetes stops a pod: waits up to {@code timeout} for the process to end; true when it did. */
  public boolean stop(Duration timeout) throws InterruptedException {
    process.destroy();
    return process.waitFor(timeout.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
  }

  /** The process id (for {@code jcmd} and the like). */
  public long pid() {
    return process.pid();
  }

  public boolean alive() {
    return process.isAlive();
  }

  /** Everything the process printed so far. */
  public String log() {
    try {
      return Files.readString(log, StandardCharsets.UTF_8);
    } catch (IOException e) {
      return "";
    }
  }

  /**
   * Whether the process's consumers in Kafka consumer group {@code group} hold their partitions: the last assignment
   * its log shows for the group came after the last revocation (Spring Kafka logs both).
   */
  public boolean settledIn(String group) {
    String log = log();
    int assigned = log.lastIndexOf(group + ": partitions assigned");
    return assigned >= 0 && assigned > log.lastIndexOf(group + ": partitions revoked");
  }

  public String logTail() {
    try {
      List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
      return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
    } catch (IOException e) {
      return "(no log: " + e.getMessage() + ")";
    }
  }

  @Override
  public void close() {
    Processes.stop(process, Duration.ofSeconds(10));
  }


  /**
   * A port nothing listens on, never one this JVM handed out before: the kernel gives a just-closed ephemeral port
   * out again readily, and services started in parallel ask for theirs a moment before they bind them.
   */
  static int freePort() throws IOException {
    for (int attempt = 0; attempt < 1000; attempt++) {
      try (ServerSocket socket = new ServerSocket(0)) {
        if (HANDED_OUT.add(socket.getLocalPort())) {
          return socket.getLocalPort();
        }
      }
    }
    throw new IOException("no free port that was not handed out before");
  }

  private static boolean accepting(int port) {
    try (Socket socket = new Socket()) {
      socket.connect(new InetSocketAddress("127.0.0.1", port), 500);
      return true;
    } catch (IOException e) {
      return false;
    }
  }
}
