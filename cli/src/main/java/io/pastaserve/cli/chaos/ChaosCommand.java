package io.pastaserve.cli.chaos;

import io.pastaserve.cli.Options;
import io.pastaserve.cli.UsageException;
import io.pastaserve.testing.ServiceProcess;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;

/**
 * {@code pasta chaos [--quick] [--kafka-lib DIR] [--prompts FILE] [--run-dir DIR]}: starts the real suite, drives a
 * steady load of streamed and whole answers in both modes, and injects one fault at a time while requests are in
 * flight — a decoder worker killed mid-span (and started again), a worker killed while it decodes a fork's job (the
 * workers place every fork on a worker with room, over the span-jobs topic), the interpreter killed and
 * started again, Redis
 * killed and started again on its append-only file, the broker stopped and started again, clients hanging up
 * mid-stream — after a fault-free control phase. Every request is classified against the fault-free answer of its
 * prompt and mode ({@link OutcomeClassifier}); after each phase the workers must have no span running and the
 * gateway no request, after each fault a probe of fault-free requests must come back identical, and after the run
 * every request key must carry a TTL and none may still say {@code running}.
 *
 * <p>Prints progress lines, a table per phase, each request that hung or lost text, the checks, and last the line
 * {@code faults F, requests R, identical I, failed-clear C, hung H, lost L}. {@link #run} returns 0 only when
 * nothing hung, nothing was lost or duplicated and every check held; 1 otherwise.
 */
public final class ChaosCommand {

  private static final String NAME = "chaos";
  /** The workers' fork placement in every phase. */
  static final String SPREAD = "--pasta.worker.fork-placement=spread";

  /** How long each part of the run takes; {@code --quick} is the CI run. */
  record Plan(int prompts, Duration interval, int maxInFlight, Duration deadline, Duration margin, Duration warmup,
      Duration settle, Duration control, Duration redisDown, Duration kafkaDown, int disconnects) {

    static Plan quick() {
      return new Plan(4, Duration.ofMillis(500), 6, Duration.ofSeconds(30), Duration.ofSeconds(10),
          Duration.ofMillis(2000), Duration.ofSeconds(4), Duration.ofSeconds(6), Duration.ofSeconds(6),
          Duration.ofSeconds(8), 3);
    }

    static Plan full() {
      return new Plan(8, Duration.ofMillis(400), 8, Duration.ofSeconds(90), Duration.ofSeconds(15),
          Duration.ofSeconds(3), Duration.ofSeconds(10), Duration.ofSeconds(20), Duration.ofSeconds(8),
          Duration.ofSeconds(15), 8);
    }
  }

  private final PrintStream out;
  private final long startNanos = System.nanoTime();

  public ChaosCommand(PrintStream out) {
    this.out = out;
  }

  private double now() {
    return (System.nanoTime() - startNanos) / 1e9;
  }

  private void progress(String format, Object... args) {
    out.printf(Locale.ROOT, "[%6.1fs] %s%n", now(), String.format(Locale.ROOT, format, args));
  }

  /**
   * Runs the harness; returns the exit status (0 passed, 1 failed).
   *
   * @throws UsageException for unknown arguments or missing values
   * @throws IllegalArgumentException for arguments that cannot serve (the caller reports them as usage errors)
   * @throws IOException when the suite cannot be started or the fault-free run fails
   */
  public int run(List<String> args) throws IOException, UsageException {
    Options options = Options.parse(NAME, args, Set.of("--kafka-lib", "--prompts", "--run-dir"),
        Set.of("--quick"));
    boolean quick = options.flag("--quick");
    Path root = Path.of(System.getProperty("pasta.home", ".")).toAbsolutePath().normalize();
    Path kafkaLib = path(options, "--kafka-lib", root.resolve(".pasta/kafka/lib"));
    Path promptsFile = path(options, "--prompts", root.resolve("models/pasta-tiny/heldout-prompts.txt"));
    Path runDir = path(options, "--run-dir", root.resolve(".pasta/chaos"));
    if (!Files.isDirectory(kafkaLib)) {
      throw new IllegalArgumentException(NAME + ": no Kafka jars in " + kafkaLib + " (bin/pasta chaos fetches them)");
    }
    Plan plan = quick ? Plan.quick() : Plan.full();
    List<String> prompts = Files.readAllLines(promptsFile, StandardCharsets.UTF_8).stream().map(String::strip)
        .filter(l -> !l.isEmpty() && !l.startsWith("#")).limit(plan.prompts()).toList();
    if (prompts.size() < plan.prompts()) {
      throw new IllegalArgumentException(NAME + ": " + promptsFile + " has fewer than " + plan.prompts() + " prompts");
    }
    clean(runDir);
    String apiKey = "chaos-" + UUID.randomUUID().toString().replace("-", "");
    ChaosReport report = new ChaosReport();
    progress("pasta chaos%s: starting the suite (KRaft broker, Redis with appendfsync always, interpreter, "
        + "2 workers, gateway); logs in %s", quick ? " --quick" : "", runDir);
    // every fork goes to a worker with room, over the span-jobs topic: each fault also meets forks across workers
    ChaosSuite suite = new ChaosSuite(root, kafkaLib, runDir, apiKey, List.of(), List.of(SPREAD));
    try {
      suite.start();
      progress("suite up: gateway :%d, interpreter :%d, workers :%d :%d, Redis :%d, Kafka %s", suite.gatewayPort(),
          suite.interpreter().port(), suite.workers().get(0).port(), suite.workers().get(1).port(),
          suite.redisPort(), suite.kafka().bootstrapServers());
      awaitTrue(Duration.ofSeconds(60), () -> suite.gatewayReady() && suite.workersSettled());
      try (ChatClient gatewayClient = new ChatClient(suite.gatewayPort(), apiKey, "pasta-tiny", 1000,
          plan.deadline(), plan.margin())) {
        Map<String, String> references = references(gatewayClient, prompts, suite);
        LoadDriver load = new LoadDriver(gatewayClient, prompts, references, report, plan.interval(),
            plan.maxInFlight(), this::now, out);
        progress("load: a request every %d ms, at most %d in flight; deadline %d s (hung: no end %d s later)",
            plan.interval().toMillis(), plan.maxInFlight(), plan.deadline().toSeconds(), plan.margin().toSeconds());
        Harness h = new Harness(suite, load, report, plan, gatewayClient, prompts, references);
        h.run("control (no fault)", false, "none", h::control);
        h.run("worker kill -9", true, "SIGKILL of the busiest worker mid-span; a new one started", h::killWorker);
        h.run("remote fork worker kill -9", true, "SIGKILL of a worker decoding a fork's job (placed over the "
            + "span-jobs topic); a new one started", h::killForkWorker);
        h.run("interpreter kill -9", true, "SIGKILL of the interpreter; a new one started", h::killInterpreter);
        h.run("redis restart", true,
            "SIGKILL of redis-server (appendfsync always), started again on the same port and file", h::restartRedis);
        h.run("kafka stop/start", true, "the broker stopped cleanly and started again with its data",
            h::restartKafka);
        h.run("client disconnect", true, "streamed requests whose client closes the connection after the first "
            + "text", h::disconnectClients);
        h.leaks();
        out.println();
        out.print(report.table());
        List<String> failures = report.failures(references);
        if (!failures.isEmpty()) {
          out.println();
          failures.stream().limit(12).forEach(out::println);
          if (failures.size() > 12) {
            out.printf(Locale.ROOT, "... and %d more failed-clear%n", failures.size() - 12);
          }
        }
        List<String> problems = report.problems(references);
        if (!problems.isEmpty()) {
          out.println();
          problems.forEach(out::println);
        }
        out.println();
        report.checkLines().forEach(out::println);
        Map<Outcome, Integer> all = report.counts(null);
        out.printf(Locale.ROOT, "client disconnects: %d cancelled by the client (not counted in the requests)%n",
            all.get(Outcome.CANCELLED_BY_CLIENT));
        out.printf(Locale.ROOT, "lost %d = lost %d + duplicated %d + broken %d; took %.0f s%n", report.lost(),
            all.get(Outcome.LOST), all.get(Outcome.DUPLICATED), all.get(Outcome.BROKEN), now());
        out.println(report.summaryLine());
        return report.passed() ? 0 : 1;
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted");
    } finally {
      suite.close();
    }
  }

  /** The option's path, absolute, or {@code fallback}. */
  static Path path(Options options, String name, Path fallback) {
    String value = options.get(name, null);
    return value == null ? fallback : Path.of(value).toAbsolutePath();
  }

  /** The fault-free answer of every prompt in both modes, whole, greedy: what every request is compared with. */
  private Map<String, String> references(ChatClient client, List<String> prompts, ChaosSuite suite)
      throws IOException, InterruptedException {
    ExecutorService pool = Executors.newFixedThreadPool(4);
    try {
      Map<String, Future<Response>> answers = new HashMap<>();
      for (int p = 0; p < prompts.size(); p++) {
        for (String mode : List.of("async", "serial")) {
          String prompt = prompts.get(p);
          answers.put(p + "/" + mode, pool.submit(() -> client.send(prompt, mode, false)));
        }
      }
      Map<String, String> references = new HashMap<>();
      for (Map.Entry<String, Future<Response>> e : answers.entrySet()) {
        Response r;
        try {
          r = e.getValue().get();
        } catch (java.util.concurrent.ExecutionException ex) {
          throw new IOException("fault-free request " + e.getKey() + " failed: " + ex.getCause(), ex.getCause());
        }
        if (!r.isAnswer()) {
          throw new IOException("the fault-free request " + e.getKey() + " did not complete: " + r + "\nthe gateway "
              + (suite.gateway().alive() ? "is running" : "has exited") + "; the last lines of its log:\n"
              + suite.gateway().logTail());
        }
        references.put(e.getKey(), r.text());
      }
      long same = java.util.stream.IntStream.range(0, prompts.size())
          .filter(p -> references.get(p + "/async").equals(references.get(p + "/serial"))).count();
      progress("fault-free answers: %d prompts x 2 modes; async and serial the same text for %d of %d prompts",
          prompts.size(), same, prompts.size());
      return references;
    } finally {
      pool.shutdownNow();
    }
  }

  /** The phases, run one after another on the harness's thread. */
  private final class Harness {

    private final ChaosSuite suite;
    private final LoadDriver load;
    private final ChaosReport report;
    private final Plan plan;
    private final ChatClient client;
    private final List<String> prompts;
    private final Map<String, String> references;
    /** Probes after a fault: a shorter deadline (15 s), so a suite that does not recover costs little time. */
    private final ChatClient prober;

    Harness(ChaosSuite suite, LoadDriver load, ChaosReport report, Plan plan, ChatClient client,
        List<String> prompts, Map<String, String> references) {
      this.references = references;
      this.prober = new ChatClient(suite.gatewayPort(), apiKeyOf(client), "pasta-tiny", 1000, Duration.ofSeconds(15),
          Duration.ofSeconds(5));
      this.suite = suite;
      this.load = load;
      this.report = report;
      this.plan = plan;
      this.client = client;
      this.prompts = prompts;
    }

    /** A phase's fault: returns when it was injected and when the suite was whole again (seconds, -1: none). */
    interface Fault {
      double[] inject(String phase) throws IOException, InterruptedException;
    }

    /**
     * Runs one phase: the load starts, the fault is injected and undone, the load stops and its requests end; then
     * the suite must be idle. A phase that cannot be carried out (a service that does not come back) is a failed
     * check, and the run goes on with the next.
     */
    void run(String phase, boolean fault, String what, Fault body) throws InterruptedException {
      progress("phase %s", phase);
      load.start(phase);
      double[] times = {-1, -1};
      try {
        Thread.sleep(plan.warmup().toMillis());
        // faults come while the load is at its height: several requests in flight
        awaitTrue(Duration.ofSeconds(8), () -> load.inFlight() >= busyEnough());
        times = body.inject(phase);
      } catch (IOException | RuntimeException e) {
        progress("  the phase could not be carried out: %s", e.getMessage());
        report.addCheck(new ChaosReport.Check("phase " + phase + " carried out", false, String.valueOf(
            e.getMessage())));
      }
      end(phase, fault, what, times[0], times[1]);
    }

    /** Requests in flight that make a fault count: half the cap, at least 2 (3 with --quick, 4 without). */
    int busyEnough() {
      return Math.max(2, plan.maxInFlight() / 2);
    }

    double[] control(String phase) throws InterruptedException {
      Thread.sleep(plan.control().toMillis());
      return new double[] {-1, -1};
    }

    double[] killWorker(String phase) throws IOException, InterruptedException {
      // the gauge is a snapshot of the last engine step: the victim is picked the moment one is seen decoding
      ServiceProcess victim = null;
      double busy = 0;
      long until = System.nanoTime() + Duration.ofSeconds(20).toNanos();
      while (victim == null && System.nanoTime() < until) {
        for (ServiceProcess w : suite.workers()) {
          double n = spans(w);
          if (n > busy && (n >= 2 || load.inFlight() >= busyEnough())) {
            victim = w;
            busy = n;
          }
        }
        if (victim == null) {
          Thread.sleep(20);
        }
      }
      if (victim == null) {
        victim = suite.workers().get(0);
      }
      double injected = now();
      suite.killWorker(victim);
      progress("  kill -9 worker :%d (%.0f spans running, %d requests in flight)", victim.port(), busy,
          load.inFlight());
      return replace(injected);
    }

    /** SIGKILL of the first worker seen decoding a fork's job ({@code pasta_worker_remote_forks_decoding}). */
    double[] killForkWorker(String phase) throws IOException, InterruptedException {
      ServiceProcess victim = null;
      double forks = 0;
      long until = System.nanoTime() + Duration.ofSeconds(20).toNanos();
      while (victim == null && System.nanoTime() < until) {
        for (ServiceProcess w : suite.workers()) {
          double n = suite.metric(w, "pasta_worker_remote_forks_decoding");
          if (n > 0) {
            victim = w;
            forks = n;
            break;
          }
        }
        if (victim == null) {
          Thread.sleep(5);
        }
      }
      if (victim == null) {
        progress("  no worker seen decoding a fork's job in 20 s: the phase is a plain worker kill");
        victim = suite.workers().get(0);
      }
      double injected = now();
      suite.killWorker(victim);
      progress("  kill -9 worker :%d (%.0f forks' jobs decoding, %d requests in flight)",
          victim.port(), forks, load.inFlight());
      return replace(injected);
    }

    /** A new worker in place of a killed one; returns when the fault was injected and when the group settled. */
    private double[] replace(double injected) throws IOException, InterruptedException {
      ServiceProcess next = suite.startWorker();
      suite.addWorker(next);
      boolean settled = awaitTrue(Duration.ofSeconds(30), suite::workersSettled);
      double recovered = now();
      progress("  worker started again on :%d%s", next.port(), settled ? "" : " (group not settled after 30 s)");
      Thread.sleep(plan.settle().toMillis());
      return new double[] {injected, recovered};
    }

    double[] killInterpreter(String phase) throws IOException, InterruptedException {
      double injected = now();
      int inFlight = load.inFlight();
      int port = suite.interpreter().port();
      suite.killInterpreter();
      progress("  kill -9 interpreter :%d (%d requests in flight)", port, inFlight);
      ServiceProcess next = suite.startInterpreter();
      suite.replaceInterpreter(next);
      double recovered = now();
      progress("  interpreter started again on :%d", next.port());
      Thread.sleep(plan.settle().toMillis());
      return new double[] {injected, recovered};
    }

    double[] restartRedis(String phase) throws IOException, InterruptedException {
      double injected = now();
      int inFlight = load.inFlight();
      suite.redis().kill();
      progress("  kill -9 redis-server :%d (%d requests in flight); down for %d ms", suite.redisPort(), inFlight,
          plan.redisDown().toMillis());
      Thread.sleep(plan.redisDown().toMillis());
      suite.redis().launch();
      double recovered = now();
      progress("  redis-server started again on its append-only file");
      Thread.sleep(plan.settle().toMillis());
      return new double[] {injected, recovered};
    }

    double[] restartKafka(String phase) throws IOException, InterruptedException {
      double injected = now();
      int inFlight = load.inFlight();
      suite.kafka().stop();
      progress("  broker stopped (SIGTERM, %.1f s; %d requests in flight); down for %d ms", now() - injected,
          inFlight, plan.kafkaDown().toMillis());
      Thread.sleep(plan.kafkaDown().toMillis());
      suite.kafka().launch();
      double recovered = now();
      progress("  broker started again (same ports and log directory)");
      Thread.sleep(plan.settle().toMillis() * 2);
      return new double[] {injected, recovered};
    }

    double[] disconnectClients(String phase) throws InterruptedException {
      double injected = now();
      List<Thread> clients = new ArrayList<>();
      for (int k = 0; k < plan.disconnects(); k++) {
        int prompt = k % prompts.size();
        String mode = LoadDriver.mode(k);
        Thread t = new Thread(() -> {
          double start = now();
          Response r = client.sendAndHangUp(prompts.get(prompt), mode);
          load.add(phase, prompt, mode, true, start, r);
        }, "pasta-chaos-hang-up");
        t.setDaemon(true);
        t.start();
        clients.add(t);
        Thread.sleep(300);
      }
      for (Thread t : clients) {
        t.join();
      }
      double recovered = now();
      progress("  %d streamed requests hung up after their first text", plan.disconnects());
      Thread.sleep(plan.settle().toMillis());
      return new double[] {injected, recovered};
    }

    /** Stops the load, waits for its requests, records the phase and checks that nothing is left running. */
    private void end(String phase, boolean fault, String what, double injected, double recovered)
        throws InterruptedException {
      double stopping = now();
      int skipped = load.skipped();
      load.stop();
      report.addPhase(new ChaosReport.Phase(phase, fault, what, injected, recovered));
      Map<Outcome, Integer> c = report.counts(phase);
      progress("  load stopped; the last requests took %.1f s to end: %s%s", now() - stopping, summary(c),
          skipped == 0 ? "" : "; " + skipped + " arrivals skipped (in-flight cap)");
      boolean idle = awaitTrue(Duration.ofSeconds(10), () -> suite.workers().stream().allMatch(w -> spans(w) == 0)
          && suite.metric(suite.gateway(), "pasta_gateway_requests_running") == 0);
      StringBuilder detail = new StringBuilder();
      for (ServiceProcess w : suite.workers()) {
        detail.append("worker :").append(w.port()).append(" spans ").append(fmt(spans(w))).append(", ");
      }
      detail.append("gateway requests running ")
          .append(fmt(suite.metric(suite.gateway(), "pasta_gateway_requests_running")));
      report.addCheck(new ChaosReport.Check("idle 10 s after " + phase, idle, detail.toString()));
      if (!idle) {
        progress("  NOT IDLE 10 s after the load: %s", detail);
      }
      if (fault) {
        probe(phase);
      }
    }

    /**
     * Whether the suite serves again once the fault is over: one whole request per prompt and mode at once (request
     * ids are random, so they land on every partition with good odds), each must be identical. Not counted in the
     * requests: a failure here is a suite that did not recover, which the next phase would be blamed for.
     */
    private void probe(String phase) throws InterruptedException {
      List<Thread> threads = new ArrayList<>();
      List<String> failures = java.util.Collections.synchronizedList(new ArrayList<>());
      java.util.concurrent.atomic.AtomicInteger ok = new java.util.concurrent.atomic.AtomicInteger();
      int n = 0;
      for (int p = 0; p < prompts.size(); p++) {
        for (String mode : List.of("async", "serial")) {
          int prompt = p;
          n++;
          Thread t = new Thread(() -> {
            Response r = prober.send(prompts.get(prompt), mode, false);
            Outcome o = OutcomeClassifier.classify(r, references.get(prompt + "/" + mode));
            if (o == Outcome.IDENTICAL) {
              ok.incrementAndGet();
            } else {
              failures.add(o.label() + (r.error().isEmpty() ? "" : " (" + r.error() + ")")
                  + (r.requestId().isEmpty() ? "" : " " + r.requestId()));
            }
          }, "pasta-chaos-probe");
          t.setDaemon(true);
          t.start();
          threads.add(t);
        }
      }
      for (Thread t : threads) {
        t.join();
      }
      boolean recovered = ok.get() == n;
      String detail = ok.get() + " of " + n + " fault-free requests identical"
          + (failures.isEmpty() ? "" : "; " + String.join("; ", failures.subList(0, Math.min(3, failures.size()))));
      report.addCheck(new ChaosReport.Check("serving again after " + phase, recovered, detail));
      progress("  %s: %s", recovered ? "serving again" : "NOT SERVING AGAIN", detail);
    }

    /** After the run: every request key has a TTL, and no request still says running. */
    void leaks() throws IOException, InterruptedException {
      RedisInspector redis = new RedisInspector(suite.redisPort());
      List<String> keys = redis.keys("pasta:{*");
      List<String> ttls = redis.run(keys.stream().map(k -> "TTL " + k).toList());
      List<String> noTtl = new ArrayList<>();
      for (int i = 0; i < keys.size() && i < ttls.size(); i++) {
        if (ttls.get(i).strip().equals("-1")) {
          noTtl.add(keys.get(i));
        }
      }
      report.addCheck(new ChaosReport.Check("every request key has a TTL", noTtl.isEmpty(),
          keys.size() + " keys, " + noTtl.size() + " without a TTL" + examples(noTtl)));
      List<String> hashes = keys.stream().filter(k -> k.endsWith(":request")).toList();
      List<String> statuses = redis.run(hashes.stream().map(k -> "HGET " + k + " status").toList());
      List<String> running = new ArrayList<>();
      for (int i = 0; i < hashes.size() && i < statuses.size(); i++) {
        if (statuses.get(i).strip().equals("running")) {
          running.add(hashes.get(i));
        }
      }
      report.addCheck(new ChaosReport.Check("no request left running", running.isEmpty(),
          hashes.size() + " requests in Redis, " + running.size() + " still 'running'" + examples(running)));
    }

    private double spans(ServiceProcess worker) {
      return suite.metric(worker, "pasta_engine_spans_running");
    }
  }

  private static String apiKeyOf(ChatClient client) {
    return client.apiKey();
  }

  private static String examples(List<String> keys) {
    return keys.isEmpty() ? "" : " (" + String.join(", ", keys.subList(0, Math.min(3, keys.size())))
        + (keys.size() > 3 ? ", ..." : "") + ")";
  }

  private static String summary(Map<Outcome, Integer> counts) {
    StringBuilder b = new StringBuilder();
    counts.forEach((o, n) -> {
      if (n > 0) {
        b.append(b.length() == 0 ? "" : ", ").append(o.label()).append(' ').append(n);
      }
    });
    return b.length() == 0 ? "no requests" : b.toString();
  }

  private static String fmt(double d) {
    return Double.isNaN(d) ? "?" : String.format(Locale.ROOT, "%.0f", d);
  }

  /** Polls {@code condition} every 100 ms for at most {@code max}; whether it became true. */
  static boolean awaitTrue(Duration max, BooleanSupplier condition) throws InterruptedException {
    long until = System.nanoTime() + max.toNanos();
    while (System.nanoTime() < until) {
      if (condition.getAsBoolean()) {
        return true;
      }
      Thread.sleep(100);
    }
    return condition.getAsBoolean();
  }

  /**
   * Empties the run directory (Kafka and Redis data of an earlier run would be resumed otherwise). Only a directory
   * that is new, empty or marked as an earlier run's is emptied.
   */
  static void clean(Path dir) throws IOException {
    Path marker = dir.resolve(".pasta-chaos");
    if (Files.exists(dir)) {
      boolean empty;
      try (Stream<Path> entries = Files.list(dir)) {
        empty = entries.findAny().isEmpty();
      }
      if (!empty && !Files.exists(marker)) {
        throw new IllegalArgumentException(NAME + ": " + dir + " is not empty and not an earlier run's directory");
      }
      try (Stream<Path> paths = Files.walk(dir)) {
        for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
          if (!p.equals(dir)) {
            Files.delete(p);
          }
        }
      }
    }
    Files.createDirectories(dir);
    Files.writeString(marker, "a bin/pasta chaos run: emptied by the next one\n", StandardCharsets.UTF_8);
  }
}
