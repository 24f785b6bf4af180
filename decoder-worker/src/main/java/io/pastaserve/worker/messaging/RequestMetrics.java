package io.pastaserve.worker.messaging;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.pastaserve.common.request.FinishReason;
import io.pastaserve.worker.engine.GenerationResult;
import java.time.Duration;
import org.springframework.stereotype.Component;

/**
 * What each finished request cost on this worker, under the names LLM operators know: queue time, forks per
 * request, join wait, finish reasons, spans decoded.
 */
@Component
class RequestMetrics {

  private final MeterRegistry registry;
  private final Timer queueTime;
  private final Timer joinWait;
  private final DistributionSummary forks;
  private final Counter spansDecoded;

  RequestMetrics(MeterRegistry registry) {
    this.registry = registry;
    this.queueTime = Timer.builder("pasta.request.queue.time")
        .description("time a request waited on the worker before it was admitted to the batch")
        .publishPercentileHistogram().minimumExpectedValue(Duration.ofMillis(1))
        .maximumExpectedValue(Duration.ofSeconds(60)).register(registry);
    this.joinWait = Timer.builder("pasta.request.join.wait")
        .description("time a request's spans waited for their forks at a sync, summed over spans")
        .publishPercentileHistogram().minimumExpectedValue(Duration.ofMillis(1))
        .maximumExpectedValue(Duration.ofSeconds(60)).register(registry);
    this.forks = DistributionSummary.builder("pasta.request.forks").description("spans forked per request")
        .serviceLevelObjectives(0.5, 1, 2, 3, 4, 6, 8, 12, 16, 32).register(registry);
    this.spansDecoded = Counter.builder("pasta.worker.spans.decoded")
        .description("spans this worker decoded to their end (main spans and forks)").register(registry);
  }

  /** {@code n} spans of a request that stopped here ended on this worker. */
  void spansDecoded(int n) {
    spansDecoded.increment(n);
  }

  void finished(GenerationResult result) {
    queueTime.record(Duration.ofNanos((long) (result.stats().queueMs() * 1e6)));
    joinWait.record(Duration.ofNanos((long) (result.stats().joinWaitMs() * 1e6)));
    forks.record(result.stats().forks());
    reason(result.finishReason());
  }

  void reason(FinishReason finishReason) {
    Counter.builder("pasta.worker.requests.finished").description("requests this worker finished, by reason")
        .tag("finished_reason", finishReason.wire()).register(registry).increment();
  }
}
