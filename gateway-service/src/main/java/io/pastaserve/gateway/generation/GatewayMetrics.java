package io.pastaserve.gateway.generation;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.pastaserve.common.request.FinishReason;
import java.time.Duration;

/**
 * Request metrics under the names LLM operators know (Prometheus: {@code pasta_time_to_first_token_seconds},
 * {@code pasta_inter_token_latency_seconds}, {@code pasta_e2e_request_latency_seconds}, {@code
 * pasta_request_success_total{finished_reason}}, ...), measured where the client sees them: at the gateway.
 */
public final class GatewayMetrics {

  private final MeterRegistry registry;
  private final Timer ttft;
  private final Timer itl;
  private final Timer e2e;
  private final DistributionSummary promptTokens;
  private final DistributionSummary completionTokens;
  private final DistributionSummary forks;

  public GatewayMetrics(MeterRegistry registry) {
    this.registry = registry;
    this.ttft = histogram("pasta.time.to.first.token", "time from admission to the first token of the answer");
    this.itl = histogram("pasta.inter.token.latency",
        "time per output token after the first, as the client sees it: (end - first token) / (tokens - 1)");
    this.e2e = histogram("pasta.e2e.request.latency", "time from admission to the last token");
    this.promptTokens = DistributionSummary.builder("pasta.request.prompt.tokens")
        .description("prompt tokens per request").register(registry);
    this.completionTokens = DistributionSummary.builder("pasta.request.generation.tokens")
        .description("tokens decoded per request, all spans").register(registry);
    this.forks = DistributionSummary.builder("pasta.request.forks.per.request")
        .description("spans forked per finished request").serviceLevelObjectives(0.5, 1, 2, 3, 4, 6, 8, 12, 16, 32)
        .register(registry);
  }

  private Timer histogram(String name, String description) {
    return Timer.builder(name).description(description).publishPercentileHistogram()
        .minimumExpectedValue(Duration.ofMillis(1)).maximumExpectedValue(Duration.ofSeconds(120))
        .register(registry);
  }

  void firstToken(Duration sinceAdmission) {
    ttft.record(sinceAdmission);
  }

  void finished(FinishReason reason, Duration sinceAdmission, Duration sinceFirstToken, long prompt, long completion,
      long forkCount) {
    e2e.record(sinceAdmission);
    if (completion > 1 && sinceFirstToken != null) {
      itl.record(sinceFirstToken.dividedBy(completion - 1));
    }
    promptTokens.record(prompt);
    completionTokens.record(completion);
    forks.record(forkCount);
    ended(reason.wire());
  }

  /** A request ended: by its finish reason, or {@code cancelled} (client gone) or {@code timeout} (deadline). */
  void ended(String reason) {
    Counter.builder("pasta.request.success").description("requests that ended, by finish reason")
        .tag("finished_reason", reason).register(registry).increment();
  }

  void rejected(String reason) {
    Counter.builder("pasta.request.rejected").description("requests refused before they ran, by reason")
        .tag("reason", reason).register(registry).increment();
  }
}
