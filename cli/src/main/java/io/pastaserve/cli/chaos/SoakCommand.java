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
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * {@code pasta soak [--requests N] [--concurrency C] [--max-tokens T] [--sample-every S]}: the real suite (as
 * {@code pasta chaos} starts it, without faults) under a long closed-loop load, and what it holds on to. Every
 * {@code S} requests, and once more when the load has stopped, it records each service's heap after a full
 * collection ({@code jcmd GC.run}, then {@code jvm_memory_used_bytes{area="heap"}}), the workers' KV cache in use,
 * and Redis: its keys, the requests it still lists as running, and its memory. After the load it waits for the
 * finished requests' keys to expire (the interpreter runs with {@code finished-ttl} of {@link #FINISHED_TTL}).
 *
 * <p>Passes when every request completed — with the same text as the first answer to its prompt and mode, unless it
 * is an async answer cut by {@code max_tokens} (where the budget runs out depends on what else the worker decodes,
 * so those are counted apart) — and the engines and the gateway are idle afterwards (no span, no cache, no request
 * running), no request key is left once the TTL has passed, and no service's heap after collection grew by more
 * than 10% + 16 MiB from the first sample to the last.
 */
public final class SoakCommand {

  private static final String NAME = "soak";
  /** How long finished requests stay readable during a soak (the default is 10 minutes). */
  static final Duration FINISHED_TTL = Duration.ofSeconds(20);
  private static final double MIB = 1024 * 1024;

  private final PrintStream out;
  private final long startNanos = System.nanoTime();

  public SoakCommand(PrintStream out) {
    this.out = out;
  }

  private void progress(String format, Object... args) {
    out.printf(Locale.ROOT, "[%6.1fs] %s%n", (System.nanoTime() - startNanos) / 1e9,
        String.format(Locale.ROOT, format, args));
  }

  /** One sample: heap after a full collection per service (MiB), cache in use, Redis. */
  private record Sample(int requests, Map<String, Double> heapMib, double kvBytes, double spans, long requestKeys,
      long running, double redisMib) {
  }

  /**
   * Runs the soak; returns the exit status (0 passed, 1 failed).
   *
   * @throws UsageException for unknown arguments, missing or bad values
   * @throws IllegalArgumentException for arguments that cannot serve
   * @throws IOException when the suite cannot be started
   */
  public int run(List<String> args) throws IOException, UsageException {
    Options options = Options.parse(NAME, args, Set.of("--requests", "--concurrency", "--max-tokens",
        "--sample-every", "--kafka-lib", "--prompts", "--run-dir"), Set.of());
    int requests = options.intValue(NAME, "--requests", 10_000, 1, Integer.MAX_VALUE);
    int concurrency = options.intValue(NAME, "--concurrency", 16, 1, Integer.MAX_VALUE);
    int maxTokens = options.intValue(NAME, "--max-tokens", 48, 1, Integer.MAX_VALUE);
    int sampleEvery = options.intValue(NAME, "--sample-every", 1_000, 1, Integer.MAX_VALUE);
    Path root = Path.of(System.getProperty("pasta.home", ".")).toAbsolutePath().normalize();
    Path kafkaLib = ChaosCommand.path(options, "--kafka-lib", root.resolve(".pasta/kafka/lib"));
    Path promptsFile = ChaosCommand.path(options, "--prompts", root.resolve("models/pasta-tiny/heldout-prompts.txt"));
    Path runDir = ChaosCommand.path(options, "--run-dir", root.resolve(".pasta/soak"));
    if (!Files.isDirectory(kafkaLib)) {
      throw new IllegalArgumentException(NAME + ": no Kafka jars in " + kafkaLib + " (bin/pasta soak fetches them)");
    }
    List<String> prompts = Files.readAllLines(promptsFile, StandardCharsets.UTF_8).stream().map(String::strip)
        .filter(l -> !l.isEmpty() && !l.startsWith("#")).limit(32).toList();
    ChaosCommand.clean(runDir);
    String apiKey = "soak-" + UUID.randomUUID().toString().replace("-", "");
    progress("pasta soak: %d requests, %d clients, max_tokens %d; starting the suite (logs in %s)", requests,
        concurrency, maxTokens, runDir);
    ChaosSuite suite = new ChaosSuite(root, kafkaLib, runDir, apiKey,
        List.of("--pasta.interpreter.finished-ttl=" + FINISHED_TTL.toSeconds() + "s"), List.of());
    try {
      suite.start();
      ChaosCommand.awaitTrue(Duration.ofSeconds(60), () -> suite.gatewayReady() && suite.workersSettled());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      suite.close();
      throw new IOException("interrupted");
    } catch (IOException | RuntimeException e) {
      suite.close();
      throw e;
    }
    try (ChatClient gateway = new ChatClient(suite.gatewayPort(), apiKey, "pasta-tiny", maxTokens,
        Duration.ofSeconds(60), Duration.ofSeconds(10))) {
      RedisInspector redis = new RedisInspector(suite.redisPort());
      Map<String, String> firstAnswers = new ConcurrentHashMap<>();
      Map<String, Integer> failures = new ConcurrentHashMap<>();
      progress("suite up; warming up with %d requests", 2 * concurrency);
      drive(gateway, prompts, 2 * concurrency, concurrency, firstAnswers, failures, new AtomicInteger(),
          new AtomicInteger(), null);
      List<Sample> samples = java.util.Collections.synchronizedList(new ArrayList<>());
      samples.add(sample(suite, redis, 0));
      progress("%s", header());
      progress("%s", row(samples.get(0)));
      AtomicInteger done = new AtomicInteger();
      AtomicInteger uncompared = new AtomicInteger();
      int every = sampleEvery;
      int total = requests;
      Runnable sampler = () -> {
        try {
          samples.add(sample(suite, redis, done.get()));
          progress("%s", row(samples.get(samples.size() - 1)));
        } catch (IOException e) {
          progress("cannot sample: %s", e.getMessage());
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      };
      long loadStart = System.nanoTime();
      drive(gateway, prompts, requests, concurrency, firstAnswers, failures, done, uncompared,
          n -> n % every == 0 && n < total ? sampler : null);
      double seconds = (System.nanoTime() - loadStart) / 1e9;
      progress("load done: %d requests in %.0f s (%.1f requests/s); waiting until idle", done.get(), seconds,
          done.get() / seconds);
      boolean idle = ChaosCommand.awaitTrue(Duration.ofSeconds(30), () -> suite.workers().stream()
          .allMatch(w -> suite.metric(w, "pasta_engine_spans_running") == 0
              && suite.metric(w, "pasta_engine_kv_bytes") == 0)
          && suite.metric(suite.gateway(), "pasta_gateway_requests_running") == 0);
      Sample last = sample(suite, redis, done.get());
      samples.add(last);
      progress("%s  (idle)", row(last));
      progress("waiting %d s for finished requests' keys to expire", FINISHED_TTL.toSeconds() + 5);
      Thread.sleep(FINISHED_TTL.plusSeconds(5).toMillis());
      long keysAfterTtl = redis.keys("pasta:{*").size();
      long runningAfterTtl = Long.parseLong(redis.run(List.of("ZCARD pasta:requests:running")).get(0).strip());

      List<String> problems = new ArrayList<>();
      int failed = failures.values().stream().mapToInt(Integer::intValue).sum();
      if (failed > 0) {
        problems.add("requests that failed or differed: " + failures);
      }
      if (!idle) {
        problems.add("not idle 30 s after the load: spans, cache or gateway requests still running");
      }
      if (keysAfterTtl > 0 || runningAfterTtl > 0) {
        problems.add(keysAfterTtl + " request keys and " + runningAfterTtl + " running requests left after the TTL");
      }
      Sample first = samples.get(0);
      List<String> growth = new ArrayList<>();
      for (Map.Entry<String, Double> e : last.heapMib().entrySet()) {
        double before = first.heapMib().getOrDefault(e.getKey(), Double.NaN);
        double grown = e.getValue() - before;
        growth.add(String.format(Locale.ROOT, "%s %.1f -> %.1f MiB", e.getKey(), before, e.getValue()));
        if (!(grown <= 0.10 * before + 16)) {
          problems.add(String.format(Locale.ROOT, "%s heap after GC grew from %.1f to %.1f MiB", e.getKey(), before,
              e.getValue()));
        }
      }
      out.println();
      out.println("heap after GC, first sample -> last: " + String.join(", ", growth));
      out.printf(Locale.ROOT, "after the load: KV cache %.0f bytes, spans %.0f; after the %d s TTL: %d request keys,"
          + " %d running%n", last.kvBytes(), last.spans(), FINISHED_TTL.toSeconds(), keysAfterTtl, runningAfterTtl);
      problems.forEach(p -> out.println("FAIL " + p));
      out.printf(Locale.ROOT, "soak %d requests: completed %d (identical %d, async cut by max_tokens %d), failed %d;"
          + " %.1f requests/s; %s%n", done.get(), done.get() - failed, done.get() - failed - uncompared.get(),
          uncompared.get(), failed, done.get() / seconds, problems.isEmpty() ? "passed" : "FAILED");
      return problems.isEmpty() ? 0 : 1;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted");
    } finally {
      suite.close();
    }
  }

  /**
   * {@code count} requests from {@code clients} closed-loop clients: request {@code i} sends prompt {@code i mod
   * prompts}, async or serial, whole or streamed in turn. A request counts as failed unless it completed with the
   * text of the first answer to its prompt and mode. {@code onDone} may name a task to run (on the client's thread,
   * holding no request) after the n-th request.
   */
  private static void drive(ChatClient client, List<String> prompts, int count, int clients,
      Map<String, String> firstAnswers, Map<String, Integer> failures, AtomicInteger done, AtomicInteger uncompared,
      java.util.function.IntFunction<Runnable> onDone) throws InterruptedException {
    AtomicInteger next = new AtomicInteger();
    ExecutorService pool = Executors.newFixedThreadPool(clients);
    for (int c = 0; c < clients; c++) {
      pool.execute(() -> {
        for (int i = next.getAndIncrement(); i < count; i = next.getAndIncrement()) {
          String mode = i % 2 == 0 ? "async" : "serial";
          String prompt = prompts.get(i % prompts.size());
          Response r = client.send(prompt, mode, (i / 2) % 2 == 0);
          boolean ok = r.isAnswer();
          if (!ok) {
            failures.merge(r.kind() + (r.status() > 0 ? " " + r.status() : "") + " " + r.error(), 1, Integer::sum);
          } else if (mode.equals("async") && r.isCut()) {
            // where an async answer is cut by max_tokens depends on what else the worker decodes: not compared
            uncompared.incrementAndGet();
          } else if (!firstAnswers.computeIfAbsent(mode + "/" + prompt, k -> r.text()).equals(r.text())) {
            failures.merge("text differs from the first answer (" + mode + ", " + r.finishReason() + ")", 1,
                Integer::sum);
          }
          int n = done.incrementAndGet();
          Runnable task = onDone == null ? null : onDone.apply(n);
          if (task != null) {
            task.run();
          }
        }
      });
    }
    pool.shutdown();
    if (!pool.awaitTermination(6, TimeUnit.HOURS)) {
      pool.shutdownNow();
    }
  }

  private Sample sample(ChaosSuite suite, RedisInspector redis, int requests)
      throws IOException, InterruptedException {
    Map<String, ServiceProcess> services = new LinkedHashMap<>();
    services.put("gateway", suite.gateway());
    services.put("interpreter", suite.interpreter());
    List<ServiceProcess> workers = suite.workers();
    for (int w = 0; w < workers.size(); w++) {
      services.put("worker" + (w + 1), workers.get(w));
    }
    Map<String, Double> heap = new LinkedHashMap<>();
    for (Map.Entry<String, ServiceProcess> e : services.entrySet()) {
      fullGc(e.getValue().pid());
      heap.put(e.getKey(), suite.metric(e.getValue(), "jvm_memory_used_bytes", "area=\"heap\"") / MIB);
    }
    double kv = workers.stream().mapToDouble(w -> suite.metric(w, "pasta_engine_kv_bytes")).sum();
    double spans = workers.stream().mapToDouble(w -> suite.metric(w, "pasta_engine_spans_running")).sum();
    long keys = redis.keys("pasta:{*").size();
    List<String> info = redis.run(List.of("ZCARD pasta:requests:running", "INFO memory"));
    long running = Long.parseLong(info.get(0).strip());
    double redisMib = info.stream().filter(l -> l.startsWith("used_memory:")).findFirst()
        .map(l -> Long.parseLong(l.substring("used_memory:".length()).strip()) / MIB).orElse(Double.NaN);
    return new Sample(requests, heap, kv, spans, keys, running, redisMib);
  }

  /** A full collection in the process ({@code jcmd <pid> GC.run}), so that the heap in use is what is live. */
  private static void fullGc(long pid) throws IOException, InterruptedException {
    Path jcmd = Path.of(System.getProperty("java.home"), "bin", "jcmd");
    Process p = new ProcessBuilder(jcmd.toString(), Long.toString(pid), "GC.run").redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
    if (!p.waitFor(30, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new IOException("jcmd GC.run did not finish for process " + pid);
    }
  }

  private static String header() {
    return String.format(Locale.ROOT, "%8s  %-44s %10s %6s %8s %8s %9s", "requests",
        "heap after GC, MiB (gateway interp. workers)", "KV bytes", "spans", "rkeys", "running", "redis MiB");
  }

  private static String row(Sample s) {
    StringBuilder heap = new StringBuilder();
    s.heapMib().values().forEach(h -> heap.append(String.format(Locale.ROOT, "%7.1f ", h)));
    return String.format(Locale.ROOT, "%8d  %-44s %10.0f %6.0f %8d %8d %9.1f", s.requests(), heap.toString().strip(),
        s.kvBytes(), s.spans(), s.requestKeys(), s.running(), s.redisMib());
  }
}
