package io.pastaserve.worker.messaging;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.Locale;
import java.util.function.IntSupplier;
import org.springframework.stereotype.Component;

/**
 * Forks across workers as this worker sees them: forks it placed on other workers, how long they took to come back,
 * how long their parents waited for them at a sync, how often they were taken back and why, and the forks' jobs
 * it decodes (placed by any worker, itself included). How long a span waits at its sync for all its forks, local
 * ones included, is the engine's: {@code pasta.request.join.wait} ({@link RequestMetrics}).
 */
@Component
class RemoteForkMetrics {

  /** Why a fork placed on another worker is decoded here after all. */
  enum TakeBack {
    /** No worker claimed it within {@code remote-fork-claim-timeout} (the others full, paused or gone). */
    UNCLAIMED,
    /** The worker that claimed it is gone (its heartbeat expired). */
    OWNER_GONE,
    /** It did not come back within {@code remote-fork-timeout}. */
    TIMEOUT;

    String tag() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  private final MeterRegistry registry;
  private final Counter placed;
  private final Counter forkJobDecoded;
  private final Timer roundTrip;
  private final Timer joinWait;

  RemoteForkMetrics(MeterRegistry registry) {
    this.registry = registry;
    this.placed = Counter.builder("pasta.worker.forks.placed.remote")
        .description("forks of requests run here that were placed on other workers").register(registry);
    this.forkJobDecoded = Counter.builder("pasta.worker.fork.jobs.decoded")
        .description("forks' jobs this worker decoded and reported (placed by any worker)").register(registry);
    this.roundTrip = Timer.builder("pasta.worker.remote.fork.round.trip")
        .description("from placing a fork on another worker to its tokens being back here")
        .publishPercentileHistogram().minimumExpectedValue(Duration.ofMillis(10))
        .maximumExpectedValue(Duration.ofSeconds(120)).register(registry);
    this.joinWait = Timer.builder("pasta.worker.remote.fork.join.wait")
        .description("how long a span of a request run here waited for a fork decoded on another worker: from its "
            + "sync (or its own end) to the fork's tokens being back; 0 when they were back first")
        .publishPercentileHistogram().minimumExpectedValue(Duration.ofMillis(1))
        .maximumExpectedValue(Duration.ofSeconds(120)).register(registry);
    for (TakeBack reason : TakeBack.values()) {
      takeBack(reason);
    }
  }

  /** Reports {@code decoding} (forks' jobs decoding here now) as a gauge. */
  void watch(IntSupplier decoding) {
    Gauge.builder("pasta.worker.remote.forks.decoding", decoding, d -> d.getAsInt()).strongReference(true)
        .description("forks' jobs decoding on this worker (forks placed over the span-jobs topic, by any worker)")
        .register(registry);
  }

  void placed() {
    placed.increment();
  }

  void forkJobDecoded() {
    forkJobDecoded.increment();
  }

  void back(Duration sincePlaced) {
    roundTrip.record(sincePlaced);
  }

  /** A fork's job decoding here ended without its tokens: {@code cancelled} (its request was), or failed. */
  void forkJobUnfinished(boolean cancelled) {
    Counter.builder("pasta.worker.fork.jobs.unfinished")
        .description("forks' jobs that ended here without their tokens: cancelled with their request, or failed")
        .tag("reason", cancelled ? "cancelled" : "failed").register(registry).increment();
  }

  void joinWaited(Duration waited) {
    joinWait.record(waited);
  }

  /** A fork's job taken here started from its parent's cache ({@code fromCache}) or from the token ids. */
  void prefix(boolean fromCache) {
    Counter.builder("pasta.worker.fork.prefixes")
        .description("forks' jobs taken here, by where their prefix came from: the parent's cache in Redis (kv) or "
            + "the token ids (tokens)")
        .tag("source", fromCache ? "kv" : "tokens").register(registry).increment();
  }

  void takenBack(TakeBack reason) {
    takeBack(reason).increment();
  }

  private Counter takeBack(TakeBack reason) {
    return Counter.builder("pasta.worker.forks.taken.back")
        .description("forks placed on other workers that were decoded here after all, by reason")
        .tag("reason", reason.tag()).register(registry);
  }
}
