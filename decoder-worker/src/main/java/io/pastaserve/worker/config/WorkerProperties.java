package io.pastaserve.worker.config;

import io.pastaserve.common.lang.PastaLimits;
import io.pastaserve.common.messaging.Topics;
import io.pastaserve.worker.messaging.MessagingProperties;
import io.pastaserve.worker.engine.EngineConfig;
import io.pastaserve.worker.engine.ForkPlacement;
import io.pastaserve.worker.engine.ForkPrefix;
import io.pastaserve.worker.engine.ReservationPolicy;
import io.pastaserve.worker.model.ExecutionProvider;
import io.pastaserve.worker.model.RunnerApi;
import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotBlank;
import jakarta.validation.constraints.Pattern;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.validation.annotation.Validated;

/**
 * Settings of a decoder worker ({@code pasta.worker.*}).
 *
 * @param modelDir directory of the model (see {@code docs/model-contract.md})
 * @param modelName the name clients ask for (the {@code model} field of the API); empty: the directory's name
 * @param heartbeatInterval how often the worker tells Redis it is alive (it counts as gone after three)
 * @param device where the model runs: cpu, cuda (fails at start when CUDA cannot run the model), or auto (CUDA when
 *     it can, else the CPU, logged once)
 * @param runner how the model is run: binding (ONNX Runtime's I/O binding, the cache where the model runs: device
 *     memory on a GPU) or java (ONNX Runtime's Java API, the cache in host memory)
 * @param intraOpThreads ONNX Runtime threads per forward pass; 0 lets it choose (one per core)
 * @param spinWait whether idle ONNX Runtime threads spin (lower latency on a machine of its own) or sleep
 *     (leaves the cores to Kafka clients and other processes)
 * @param maxBatch spans decoded together in one step
 * @param kvBudgetTokens cache, in tokens, admitted requests may use; beyond it requests queue
 * @param prefillTokensPerStep prompt and opener tokens computed per step beside decoding
 * @param maxSpanTokens tokens one span may decode
 * @param maxSpans spans per request, main span included; promises beyond run inline
 * @param maxDepth fork nesting depth; deeper promises run inline
 * @param maxTopicLength longest topic of a well-formed tag
 * @param reservation position reservation policy after a promise: predicted, fixed or none
 * @param forkPlacement where forks decode: local (beside their parent), spread (every fork the model starts goes to
 *     another worker, as a span job), or auto (beside their parent while the cache budget and the batch have room for
 *     it, else on another worker when there is one); only forks that cannot fork in turn go elsewhere
 * @param remoteForkTimeout how long a fork placed on another worker may take before it is decoded here after all
 * @param remoteForkClaimTimeout how long a fork placed on another worker may wait for a worker to claim it (all of
 *     them full, paused or gone) before it is decoded here after all
 * @param forkPrefix how a fork placed on another worker gets its prefix there: kv (its parent's cache, put in Redis
 *     at the promise, restored there) or tokens (the request's token ids, prefilled there); kv falls back to tokens
 *     when the cache is over {@code fork-prefix-max-bytes}, gone from Redis, or of another model's shape
 * @param forkPrefixMaxBytes the largest parent's cache put in Redis for one fork
 * @param spanJobsTopic topic of span jobs (in)
 * @param spanEventsTopic topic of span events (out)
 * @param cancelTopic topic of cancellations (in)
 * @param forkResultsTopic topic of forks decoded on other workers (in and out)
 * @param topicPartitions partitions of the topics the worker creates when missing: the most workers that can
 *     share the span jobs
 * @param eventFlushInterval how long decoded tokens may wait to be published together (fewer, larger span
 *     events); a span that ends is published at once
 * @param maxRequests requests the worker holds at once, running or waiting for room in the engine; beyond it
 *     jobs stay in Kafka for other workers, and count as lag for autoscaling
 * @param drainTimeout on a clean stop (SIGTERM), how long running requests may take to finish before the rest
 *     are handed to other workers, which resume them; keep it below the pod's termination grace period
 * @param eventQueueCapacity span event envelopes (one per request and flush) that may wait to be sent, all requests
 *     together, while the broker is slow or away; a request whose envelope does not fit is handed to another worker
 * @param eventDeliveryTimeout how long a request's span events may keep failing to reach the broker (each record is
 *     sent again) before the request is handed to another worker, which resumes it
 * @param kafkaMaxBlock the producer's {@code max.block.ms}: how long a send may wait for metadata or buffer room
 *     (on the span-event sender's thread, never the engine's)
 * @param kafkaDeliveryTimeout the producer's {@code delivery.timeout.ms}: when a send's result is known at the latest
 * @param kafkaRequestTimeout the producer's and the admin client's {@code request.timeout.ms}
 * @param kafkaAdminTimeout how long an admin operation (creating topics at start, the cluster id that tracing asks
 *     for) may take
 */
@Validated
@ConfigurationProperties("pasta.worker")
public record WorkerProperties(
    @DefaultValue("models/pasta-tiny") @NotBlank String modelDir,
    @DefaultValue("") String modelName,
    @DefaultValue("2s") java.time.Duration heartbeatInterval,
    @DefaultValue("auto") @Pattern(regexp = "(?i)cpu|cuda|auto") String device,
    @DefaultValue("binding") @Pattern(regexp = "(?i)binding|java") String runner,
    @DefaultValue("0") @Min(0) @Max(256) int intraOpThreads,
    @DefaultValue("false") boolean spinWait,
    @DefaultValue("16") @Min(1) @Max(1024) int maxBatch,
    @DefaultValue("65536") @Min(1) long kvBudgetTokens,
    @DefaultValue("512") @Min(1) int prefillTokensPerStep,
    @DefaultValue("1024") @Min(1) int maxSpanTokens,
    @DefaultValue("32") @Min(1) @Max(1024) int maxSpans,
    @DefaultValue("1") @Min(0) @Max(8) int maxDepth,
    @DefaultValue("64") @Min(0) @Max(4096) int maxTopicLength,
    @DefaultValue("predicted") @Pattern(regexp = "(?i)predicted|fixed|none") String reservation,
    @DefaultValue("auto") @Pattern(regexp = "(?i)local|spread|auto") String forkPlacement,
    @DefaultValue("60s") java.time.Duration remoteForkTimeout,
    @DefaultValue("5s") java.time.Duration remoteForkClaimTimeout,
    @DefaultValue("kv") @Pattern(regexp = "(?i)tokens|kv") String forkPrefix,
    @DefaultValue("67108864") @Min(0) long forkPrefixMaxBytes,
    @DefaultValue(Topics.SPAN_JOBS) @NotBlank String spanJobsTopic,
    @DefaultValue(Topics.SPAN_EVENTS) @NotBlank String spanEventsTopic,
    @DefaultValue(Topics.CANCEL) @NotBlank String cancelTopic,
    @DefaultValue(Topics.FORK_RESULTS) @NotBlank String forkResultsTopic,
    @DefaultValue("8") @Min(1) @Max(1024) int topicPartitions,
    @DefaultValue("20ms") java.time.Duration eventFlushInterval,
    @DefaultValue("16") @Min(1) @Max(100000) int maxRequests,
    @DefaultValue("30s") java.time.Duration drainTimeout,
    @DefaultValue("65536") @Min(1) int eventQueueCapacity,
    @DefaultValue("2m") java.time.Duration eventDeliveryTimeout,
    @DefaultValue("3s") java.time.Duration kafkaMaxBlock,
    @DefaultValue("30s") java.time.Duration kafkaDeliveryTimeout,
    @DefaultValue("10s") java.time.Duration kafkaRequestTimeout,
    @DefaultValue("5s") java.time.Duration kafkaAdminTimeout) {

  public WorkerProperties {
    if (kafkaDeliveryTimeout.compareTo(kafkaRequestTimeout) < 0) {
      throw new IllegalArgumentException("pasta.worker.kafka-delivery-timeout (" + kafkaDeliveryTimeout
          + ") must be at least pasta.worker.kafka-request-timeout (" + kafkaRequestTimeout + ")");
    }
    if (kafkaAdminTimeout.toSeconds() < 1) {
      throw new IllegalArgumentException("pasta.worker.kafka-admin-timeout must be at least 1s");
    }
  }

  public MessagingProperties messaging() {
    return new MessagingProperties(spanJobsTopic, spanEventsTopic, cancelTopic, forkResultsTopic, eventFlushInterval,
        maxRequests, drainTimeout, eventQueueCapacity, eventDeliveryTimeout, kafkaDeliveryTimeout, remoteForkTimeout,
        remoteForkClaimTimeout,
        placement(), ForkPrefix.valueOf(forkPrefix.toUpperCase(java.util.Locale.ROOT)), forkPrefixMaxBytes);
  }

  /** The model's name as clients ask for it. */
  public String servedModelName() {
    return modelName.isBlank() ? java.nio.file.Path.of(modelDir).toAbsolutePath().normalize().getFileName()
        .toString() : modelName;
  }

  public ExecutionProvider executionProvider() {
    return ExecutionProvider.parse(device);
  }

  public ForkPlacement placement() {
    return ForkPlacement.valueOf(forkPlacement.toUpperCase(java.util.Locale.ROOT));
  }

  public RunnerApi runnerApi() {
    return RunnerApi.parse(runner);
  }

  public EngineConfig engineConfig() {
    return new EngineConfig(maxBatch, kvBudgetTokens, prefillTokensPerStep, maxSpanTokens,
        new PastaLimits(maxSpans, maxDepth, maxTopicLength), ReservationPolicy.parse(reservation));
  }
}
