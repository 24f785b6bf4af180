package io.pastaserve.cli;

import io.pastaserve.common.request.FinishReason;
import io.pastaserve.common.request.Mode;
import io.pastaserve.common.request.Sampling;
import io.pastaserve.worker.engine.Engine;
import io.pastaserve.worker.engine.EngineConfig;
import io.pastaserve.worker.engine.GenerationRequest;
import io.pastaserve.worker.engine.GenerationResult;
import io.pastaserve.worker.model.ModelRunner;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Tokens per second of the in-process engine under a closed loop of {@code c} concurrent requests (each client
 * sends its next prompt when its answer is done), async against serial, the two modes alternating per level.
 */
final class ThroughputBench {

  private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(ThroughputBench.class);

  /** One level's run; {@code unfinished}: answers that ended other than by stopping (length, error). */
  record Level(int concurrency, Mode mode, int requests, long tokens, double seconds, int unfinished) {

    double tokensPerSecond() {
      return tokens / seconds;
    }
  }

  private final ModelRunner runner;
  private final List<String> prompts;
  private final int maxTokens;

  ThroughputBench(ModelRunner runner, List<String> prompts, int maxTokens) {
    this.runner = runner;
    this.prompts = prompts;
    this.maxTokens = maxTokens;
  }

  List<Level> run(int[] levels) {
    List<Level> out = new ArrayList<>();
    int maxBatch = 1;
    for (int c : levels) {
      maxBatch = Math.max(maxBatch, c);
    }
    // room for every request's forks: batch rows are what the levels compare
    try (Engine engine = new Engine(runner, EngineConfig.defaults().withMaxBatch(Math.max(64, 4 * maxBatch)))) {
      level(engine, 2, Mode.ASYNC, 4);
      for (int c : levels) {
        int requests = Math.max(2 * c, prompts.size());
        out.add(level(engine, c, Mode.SERIAL, requests));
        out.add(level(engine, c, Mode.ASYNC, requests));
      }
    }
    return out;
  }

  private Level level(Engine engine, int c, Mode mode, int requests) {
    AtomicInteger next = new AtomicInteger();
    AtomicLong tokens = new AtomicLong();
    AtomicInteger unfinished = new AtomicInteger();
    long t0 = System.nanoTime();
    List<CompletableFuture<Void>> clients = new ArrayList<>();
    for (int k = 0; k < c; k++) {
      clients.add(client(engine, mode, next, requests, tokens, unfinished));
    }
    clients.forEach(CompletableFuture::join);
    return new Level(c, mode, requests, tokens.get(), (System.nanoTime() - t0) / 1e9, unfinished.get());
  }

  private CompletableFuture<Void> client(Engine engine, Mode mode, AtomicInteger next, int requests,
      AtomicLong tokens, AtomicInteger unfinished) {
    int i = next.getAndIncrement();
    if (i >= requests) {
      return CompletableFuture.completedFuture(null);
    }
    String prompt = prompts.get(i % prompts.size());
    return engine.submit(GenerationRequest.of("t" + mode + i, prompt, Sampling.greedy(maxTokens), mode))
        .thenCompose((GenerationResult r) -> {
          tokens.addAndGet(r.stats().totalTokens());
          if (r.finishReason() != FinishReason.STOP) {
            unfinished.incrementAndGet();
            log.warn("{} {} ended {}{}", mode, r.id(), r.finishReason(), r.error() == null ? "" : ": " + r.error());
          }
          return client(engine, mode, next, requests, tokens, unfinished);
        });
  }

  static String table(List<Level> levels) {
    StringBuilder sb = new StringBuilder(String.format(Locale.ROOT, "%11s %7s %9s %9s %10s %11s%n", "concurrency",
        "mode", "requests", "tokens", "tokens/s", "not stopped"));
    for (Level l : levels) {
      sb.append(String.format(Locale.ROOT, "%11d %7s %9d %9d %10.1f %11d%n", l.concurrency(),
          l.mode().wire(), l.requests(), l.tokens(), l.tokensPerSecond(), l.unfinished()));
    }
    return sb.toString().stripTrailing();
  }
}
