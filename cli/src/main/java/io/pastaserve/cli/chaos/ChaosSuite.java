package io.pastaserve.cli.chaos;

import io.pastaserve.testing.KafkaBrokerProcess;
import io.pastaserve.testing.RedisTestServer;
import io.pastaserve.testing.ServiceProcess;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/**
 * The real suite as processes: a KRaft broker and Redis on fixed ports (so that they can come back where the
 * services look for them), the interpreter, two decoder workers and the gateway from their runnable jars on free
 * ports. Service logs are copied into the run directory when a service is killed and at the end. Used by one
 * thread, the harness's.
 */
final class ChaosSuite implements AutoCloseable {

  /** Partitions of every topic (the cancel topic always has one). */
  static final int PARTITIONS = 4;
  private static final Duration START_TIMEOUT = Duration.ofSeconds(150);

  private final Path root;
  private final Path runDir;
  private final String apiKey;
  private final KafkaBrokerProcess kafka;
  private final RedisTestServer redis;
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
  private ServiceProcess interpreter;
  private final List<ServiceProcess> workers = new ArrayList<>();
  private ServiceProcess gateway;
  private final List<String> interpreterArgs;
  private final List<String> workerArgs;
  private final Thread cleanup = new Thread(this::close, "pasta-harness-cleanup");
  private int logCount;
  private boolean closed;

  ChaosSuite(Path root, Path kafkaLib, Path runDir, String apiKey) throws IOException {
    this(root, kafkaLib, runDir, apiKey, List.of(), List.of());
  }

  /**
   * The suite, not started yet; whatever it starts is stopped by {@link #close}, or when the JVM exits (Ctrl-C).
   *
   * @param interpreterArgs settings of the interpreter on top of the harness's own
   * @param workerArgs settings of every decoder worker on top of the harness's own
   */
  ChaosSuite(Path root, Path kafkaLib, Path runDir, String apiKey, List<String> interpreterArgs,
      List<String> workerArgs) throws IOException {
    Runtime.getRuntime().addShutdownHook(cleanup);
    this.interpreterArgs = List.copyOf(interpreterArgs);
    this.workerArgs = List.copyOf(workerArgs);
    this.root = root;
    this.runDir = runDir;
    this.apiKey = apiKey;
    this.kafka = KafkaBrokerProcess.fromJars(kafkaLib, runDir.resolve("kafka"), PARTITIONS);
    this.redis = RedisTestServer.persistent(runDir.resolve("redis"));
  }

  /** Starts the broker and Redis, then the services (in parallel), and waits until the gateway is ready. */
  void start() throws IOException, InterruptedException {
    redis.launch();
    kafka.launch();
    java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(4);
    try {
      CompletableFuture<ServiceProcess> i = async(this::startInterpreter, pool);
      CompletableFuture<ServiceProcess> w1 = async(this::startWorker, pool);
      CompletableFuture<ServiceProcess> w2 = async(this::startWorker, pool);
      CompletableFuture<ServiceProcess> g = async(this::startGateway, pool);
      IOException failure = null;
      for (CompletableFuture<ServiceProcess> f : List.of(i, w1, w2, g)) {
        try {
          f.join();
        } catch (CompletionException e) {
          failure = failure != null ? failure
              : new IOException("the suite did not start: " + e.getCause().getMessage(), e.getCause());
        }
      }
      // whatever started is owned from here on, so close() stops it even when another part failed
      interpreter = i.isCompletedExceptionally() ? null : i.join();
      for (CompletableFuture<ServiceProcess> w : List.of(w1, w2)) {
        if (!w.isCompletedExceptionally()) {
          workers.add(w.join());
        }
      }
      gateway = g.isCompletedExceptionally() ? null : g.join();
      if (failure != null) {
        throw failure;
      }
    } finally {
      pool.shutdown();
    }
  }

  interface Starter {
    ServiceProcess start() throws IOException, InterruptedException;
  }

  private static CompletableFuture<ServiceProcess> async(Starter starter, java.util.concurrent.Executor pool) {
    return CompletableFuture.supplyAsync(() -> {
      try {
        return starter.start();
      } catch (IOException e) {
        throw new CompletionException(e);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new CompletionException(e);
      }
    }, pool);
  }

  private List<String> shared() {
    return List.of("--spring.kafka.bootstrap-servers=" + kafka.bootstrapServers(),
        "--spring.data.redis.port=" + redis.port(), "--logging.level.org.apache.kafka=warn");
  }

  /** A dead consumer's partitions move after 6 s instead of 45 s (as the e2e failover tests set it). */
  private static List<String> fastRebalance() {
    return List.of("--spring.kafka.consumer.properties.session.timeout.ms=6000",
        "--spring.kafka.consumer.properties.heartbeat.interval.ms=1000");
  }

  private Path jar(String module) {
    return root.resolve(module).resolve("target").resolve(module + "-0.1.0-SNAPSHOT-exec.jar");
  }

  private ServiceProcess startService(String module, List<String> args) throws IOException, InterruptedException {
    return ServiceProcess.start(jar(module), START_TIMEOUT, args.toArray(String[]::new));
  }

  ServiceProcess startInterpreter() throws IOException, InterruptedException {
    List<String> args = new ArrayList<>(shared());
    args.addAll(fastRebalance());
    args.add("--pasta.interpreter.topic-partitions=" + PARTITIONS);
    args.addAll(interpreterArgs);
    return startService("interpreter-service", args);
  }

  ServiceProcess startWorker() throws IOException, InterruptedException {
    List<String> args = new ArrayList<>(shared());
    args.addAll(fastRebalance());
    args.addAll(List.of("--pasta.worker.model-dir=" + root.resolve("models/pasta-tiny"),
        "--pasta.worker.device=cpu", "--pasta.worker.intra-op-threads=1",
        "--pasta.worker.topic-partitions=" + PARTITIONS));
    // a setting given for the workers replaces the harness's own (a repeated argument would be read as a list)
    for (String a : workerArgs) {
      String name = a.contains("=") ? a.substring(0, a.indexOf('=') + 1) : a;
      args.removeIf(b -> b.startsWith(name));
    }
    args.addAll(workerArgs);
    return startService("decoder-worker", args);
  }

  ServiceProcess startGateway() throws IOException, InterruptedException {
    List<String> args = new ArrayList<>(shared());
    // the soak's clients send as fast as the suite answers, on one key: the per-key rate limit is not what the
    // harness measures, so it is off (the bulkhead still applies)
    args.addAll(List.of("--pasta.gateway.model-dir=" + root.resolve("models/pasta-tiny"),
        "--pasta.gateway.api-keys=" + apiKey, "--pasta.gateway.topic-partitions=" + PARTITIONS,
        "--pasta.gateway.rate-limit-requests=0"));
    return ServiceProcess.startWithManagementPort(jar("gateway-service"), START_TIMEOUT, args.toArray(String[]::new));
  }

  int gatewayPort() {
    return gateway.port();
  }

  int redisPort() {
    return redis.port();
  }

  List<ServiceProcess> workers() {
    return List.copyOf(workers);
  }

  ServiceProcess interpreter() {
    return interpreter;
  }

  ServiceProcess gateway() {
    return gateway;
  }

  /** SIGKILL of {@code worker}; its log is kept in the run directory. */
  void killWorker(ServiceProcess worker) throws InterruptedException {
    worker.kill();
    keepLog("decoder-worker-killed", worker);
    workers.remove(worker);
  }

  void addWorker(ServiceProcess worker) {
    workers.add(worker);
  }

  void killInterpreter() throws InterruptedException {
    interpreter.kill();
    keepLog("interpreter-service-killed", interpreter);
  }

  void replaceInterpreter(ServiceProcess next) {
    interpreter = next;
  }

  KafkaBrokerProcess kafka() {
    return kafka;
  }

  RedisTestServer redis() {
    return redis;
  }

  /** Whether every worker of the group has its partitions (its last assignment came after its last revocation). */
  boolean workersSettled() {
    return workers.stream().allMatch(w -> w.settledIn("pasta-workers"));
  }

  /** Whether the gateway's readiness is UP (a live worker serves the model). */
  boolean gatewayReady() {
    return get(gateway.managementPort(), "/actuator/health/readiness").contains("\"UP\"");
  }

  /** The sum of the samples of {@code metric} on the service's Prometheus endpoint; NaN when unreadable. */
  double metric(ServiceProcess service, String metric) {
    return metric(service, metric, "");
  }

  /** Like {@link #metric(ServiceProcess, String)}, only the samples whose labels contain {@code label}. */
  double metric(ServiceProcess service, String metric, String label) {
    String body = get(service.managementPort(), "/actuator/prometheus");
    if (body.isEmpty()) {
      return Double.NaN;
    }
    return body.lines()
        .filter(l -> label.isEmpty() ? l.startsWith(metric + " ") || l.startsWith(metric + "{")
            : l.startsWith(metric + "{") && l.substring(0, l.indexOf('}') + 1).contains(label))
        .mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1))).sum();
  }

  private String get(int port, String path) {
    try {
      HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
          .timeout(Duration.ofSeconds(3)).build(), HttpResponse.BodyHandlers.ofString());
      return r.body();
    } catch (IOException e) {
      return "";
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return "";
    }
  }

  private void keepLog(String name, ServiceProcess service) {
    try {
      Files.writeString(runDir.resolve(String.format("%02d-%s-%d.log", ++logCount, name, service.port())),
          service.log(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      // the log is a convenience; the run goes on without it
    }
  }

  /**
   * Stops everything once: the services first (SIGTERM, all at once, SIGKILL after 10 s), keeping each one's log in
   * the run directory, then the broker and Redis.
   */
  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    if (Thread.currentThread() != cleanup) {
      try {
        Runtime.getRuntime().removeShutdownHook(cleanup);
      } catch (IllegalStateException shuttingDown) {
        // the JVM is exiting: the hook runs this anyway, and returns at once
      }
    }
    List<ServiceProcess> services = new ArrayList<>();
    List<String> names = new ArrayList<>();
    if (gateway != null) {
      services.add(gateway);
      names.add("gateway-service");
    }
    for (ServiceProcess w : workers) {
      services.add(w);
      names.add("decoder-worker");
    }
    if (interpreter != null) {
      services.add(interpreter);
      names.add("interpreter-service");
    }
    List<Thread> stopping = new ArrayList<>();
    for (ServiceProcess service : services) {
      Thread t = new Thread(service::close, "pasta-chaos-stop");
      t.start();
      stopping.add(t);
    }
    for (Thread t : stopping) {
      try {
        t.join();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    for (int k = 0; k < services.size(); k++) {
      keepLog(names.get(k), services.get(k));
    }
    kafka.close();
    redis.close();
  }
}
