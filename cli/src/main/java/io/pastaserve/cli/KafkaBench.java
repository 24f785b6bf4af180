package io.pastaserve.cli;

import io.pastaserve.common.lang.SpanId;
import io.pastaserve.common.request.Mode;
import io.pastaserve.common.request.Sampling;
import io.pastaserve.worker.engine.Engine;
import io.pastaserve.worker.engine.EngineConfig;
import io.pastaserve.worker.engine.GenerationRequest;
import io.pastaserve.worker.engine.SpanListener;
import io.pastaserve.worker.model.ModelRunner;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The request path through a running suite ({@code bin/pasta up}) against the same engine in process: latency
 * per prompt, throughput at several concurrencies, and the time from a promise to its fork's first token.
 */
final class KafkaBench implements AutoCloseable {

  private final SuiteRequests requests;

  KafkaBench(String bootstrap, String redisHost, int redisPort) {
    requests = new SuiteRequests(bootstrap, redisHost, redisPort, Duration.ofSeconds(120));
  }

  record Outcome(double ms, long tokens) {
  }

  /** One request through Kafka, from publishing to the {@code done} entry of its output stream. */
  Outcome viaKafka(String prompt, int maxTokens) throws Exception {
    try {
      SuiteRequests.Answer a = requests.run(UUID.randomUUID().toString(), prompt, maxTokens, false);
      return new Outcome(a.latencyMs(), a.done().completionTokens());
    } catch (IllegalStateException e) {
      throw new IllegalStateException(e.getMessage() + " (is 'bin/pasta up' running?)", e);
    }
  }

  /** Latency in process: the same engine the worker runs, in this process. */
  static double[] inProcess(ModelRunner runner, List<String> prompts, int repeat, int maxTokens) {
    double[] ms = new double[prompts.size()];
    try (Engine engine = new Engine(runner, EngineConfig.defaults())) {
      engine.generate(GenerationRequest.of("warm", prompts.get(0), Sampling.greedy(maxTokens), Mode.ASYNC));
      for (int i = 0; i < prompts.size(); i++) {
        double[] runs = new double[repeat];
        for (int k = 0; k < repeat; k++) {
          long t0 = System.nanoTime();
          engine.generate(GenerationRequest.of("p" + i, prompts.get(i), Sampling.greedy(maxTokens),
              Mode.ASYNC));
          runs[k] = (System.nanoTime() - t0) / 1e6;
        }
        ms[i] = median(runs);
      }
    }
    return ms;
  }

  /** Milliseconds from each promise to its fork's first decoded token, in process. */
  static double[] forkLatency(ModelRunner runner, List<String> prompts, int maxTokens) {
    List<Double> out = new ArrayList<>();
    try (Engine engine = new Engine(runner, EngineConfig.defaults())) {
      for (String prompt : prompts) {
        Map<SpanId, Long> promised = new HashMap<>();
        engine.submit(GenerationRequest.of("f", prompt, Sampling.greedy(maxTokens), Mode.ASYNC),
            new SpanListener() {
              @Override
              public void onFork(SpanId parent, SpanId child, String topic) {
                promised.put(child, System.nanoTime());
              }

              @Override
              public void onToken(SpanId span, int index, int token) {
                Long t = index == 0 ? promised.remove(span) : null;
                if (t != null) {
                  out.add((System.nanoTime() - t) / 1e6);
                }
              }
            }).join();
      }
    }
    return out.stream().mapToDouble(Double::doubleValue).toArray();
  }

  /** Closed loop: {@code clients} concurrent clients, each sending its next request when the last one ends. */
  double[] throughput(List<String> prompts, int clients, int total, int maxTokens, List<Double> latencies)
      throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(clients);
    AtomicInteger next = new AtomicInteger();
    long[] tokens = new long[1];
    long t0 = System.nanoTime();
    try {
      List<Future<?>> futures = new ArrayList<>();
      for (int c = 0; c < clients; c++) {
        futures.add(pool.submit(() -> {
          int n;
          while ((n = next.getAndIncrement()) < total) {
            Outcome o = viaKafka(prompts.get(n % prompts.size()), maxTokens);
            synchronized (latencies) {
              latencies.add(o.ms());
              tokens[0] += o.tokens();
            }
          }
          return null;
        }));
      }
      for (Future<?> f : futures) {
        f.get();
      }
    } finally {
      pool.shutdownNow();
    }
    double seconds = (System.nanoTime() - t0) / 1e9;
    return new double[] {tokens[0] / seconds, total / seconds};
  }

  static double median(double[] values) {
    return percentile(values, 50);
  }

  static double percentile(double[] values, double p) {
    double[] v = values.clone();
    Arrays.sort(v);
    if (v.length == 0) {
      return Double.NaN;
    }
    int i = (int) Math.ceil(p / 100.0 * v.length) - 1;
    return v[Math.max(0, Math.min(v.length - 1, i))];
  }

  static String fmt(String pattern, Object... args) {
    return String.format(Locale.ROOT, pattern, args);
  }

  @Override
  public void close() {
    requests.close();
  }
}
