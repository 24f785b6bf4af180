package io.pastaserve.gateway.config;

import io.pastaserve.common.messaging.Topics;
import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotBlank;
import jakarta.validation.constraints.Positive;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.validation.annotation.Validated;

/**
 * Settings of the gateway ({@code pasta.gateway.*}).
 *
 * @param modelDir directory of the served model: the gateway reads its {@code config.json} (context length, chat
 *     template) and {@code tokenizer.json} (to count prompt tokens before any work starts); not the weights
 * @param modelName the model id clients ask for; empty: the directory's name
 * @param maxBodyBytes largest request body accepted (413 beyond)
 * @param authEnabled whether {@code /v1/**} needs an API key; off only when set explicitly
 * @param apiKeys API keys accepted (besides those of {@code apiKeysFile} and the {@code PASTA_API_KEYS}
 *     environment variable, comma-separated)
 * @param apiKeysFile a file with one API key per line ({@code #} comments), or empty
 * @param defaultMaxTokens tokens an answer may take when the request does not say
 * @param maxTokensLimit the most tokens a request may ask for
 * @param requestTimeout deadline of a request, from admission to its last token (504 beyond)
 * @param maxConcurrentRequests requests one gateway instance runs at once (its bulkhead): generations, resumable
 *     ones whose client went away until they end, and readers of a stream read again; beyond, 429
 * @param retryAfter what 429 answers advise in {@code Retry-After} when the bulkhead is full
 * @param rateLimitRequests requests one API key may start per {@code rateLimitPeriod} (completions, and reading a
 *     stream again), counted from the headers before the body is read; 0: no limit. The default, 100 per second,
 *     is far above what one model serves and stops only a runaway client; set what your keys are sold for
 * @param rateLimitPeriod the rate limiter's period
 * @param enqueueTimeout how long publishing a request to Kafka may take before it fails (503)
 * @param workerTimeout how long a worker's heartbeat counts it alive (it beats more often)
 * @param outputPollInterval how often a request's output stream is read when no notification came (a fallback:
 *     the interpreter notifies on every write); a started stream that had nothing new gets an SSE comment line
 *     then, which is how a client that went away is noticed
 * @param requestsTopic topic of generate commands (out)
 * @param cancelTopic topic of cancellations (out)
 * @param topicPartitions partitions of the topics the gateway creates when missing
 */
@Validated
@ConfigurationProperties("pasta.gateway")
public record GatewayProperties(
    @DefaultValue("models/pasta-tiny") @NotBlank String modelDir,
    @DefaultValue("") String modelName,
    @DefaultValue("1048576") @Positive int maxBodyBytes,
    @DefaultValue("true") boolean authEnabled,
    @DefaultValue("") List<String> apiKeys,
    @DefaultValue("") String apiKeysFile,
    @DefaultValue("512") @Positive int defaultMaxTokens,
    @DefaultValue("4096") @Positive int maxTokensLimit,
    @DefaultValue("300s") Duration requestTimeout,
    @DefaultValue("64") @Min(1) @Max(100000) int maxConcurrentRequests,
    @DefaultValue("1s") Duration retryAfter,
    @DefaultValue("100") @Min(0) int rateLimitRequests,
    @DefaultValue("1s") Duration rateLimitPeriod,
    @DefaultValue("5s") Duration enqueueTimeout,
    @DefaultValue("10s") Duration workerTimeout,
    @DefaultValue("250ms") Duration outputPollInterval,
    @DefaultValue(Topics.REQUESTS) @NotBlank String requestsTopic,
    @DefaultValue(Topics.CANCEL) @NotBlank String cancelTopic,
    @DefaultValue("8") @Min(1) @Max(1024) int topicPartitions) {

  /** The model's name as clients ask for it. */
  public String servedModelName() {
    return modelName.isBlank() ? Path.of(modelDir).toAbsolutePath().normalize().getFileName().toString()
        : modelName;
  }
}
