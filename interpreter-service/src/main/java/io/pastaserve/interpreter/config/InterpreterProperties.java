package io.pastaserve.interpreter.config;

import io.pastaserve.common.lang.PastaLimits;
import io.pastaserve.common.messaging.Topics;
import jakarta.validation.constraints.NotBlank;
import java.time.Duration;
import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.validation.annotation.Validated;

/**
 * Settings of the interpreter service ({@code pasta.interpreter.*}).
 *
 * @param maxSpans spans per request, the main span included; each span job carries it to the worker, where promises
 *     beyond it run inline; a span event beyond it ends the request with an error
 * @param maxDepth fork nesting depth; carried by each span job, where promises deeper than it run inline; a span
 *     event deeper than it ends the request with an error
 * @param maxTopicLength longest topic of a well-formed tag, in characters; carried by each span job; a fork whose
 *     event names a longer topic ends the request with an error
 * @param requestsTopic topic of generation requests (in)
 * @param spanJobsTopic topic of span jobs (out)
 * @param spanEventsTopic topic of span events (in)
 * @param cancelTopic topic of cancellations (in; out when an answer reaches a stop string)
 * @param topicPartitions partitions of the topics created when missing
 * @param runningTtl how long a running request's keys live without news (a backstop; the owner deletes them)
 * @param finishedTtl how long a finished request's keys (its output stream) stay readable
 * @param workerLeaseGrace how long a worker's heartbeat must stay missing before the requests it ran are handed
 *     to other workers (on top of the heartbeat's own expiry, three of the worker's heartbeat intervals)
 * @param leaseCheckInterval how often running requests are checked for a gone worker
 * @param claimTimeout how long a span job may stay unclaimed by any worker before it is sent again (the send failed
 *     or the job was lost; jobs also wait while every worker is full, so this is generous)
 * @param gapTimeout how long a span's tokens may stay missing (later ones arrived) before the request is sent to the
 *     workers again, and, still missing after as long again, ended with an error
 * @param sendTimeout how long sending a span job or a cancellation to Kafka may take before it counts as failed
 * @param kafkaMaxBlock the producer's {@code max.block.ms}: how long a send may wait for metadata or buffer room
 *     before it fails (the lease watchdog's and the gap check's sends run on the watchdog's thread)
 * @param kafkaDeliveryTimeout the producer's {@code delivery.timeout.ms}: when a send's result is known at the latest
 * @param kafkaRequestTimeout the producer's and the admin client's {@code request.timeout.ms}
 * @param kafkaAdminTimeout how long an admin operation (creating topics at start, the cluster id that tracing asks
 *     for) may take
 */
@Validated
@ConfigurationProperties("pasta.interpreter")
public record InterpreterProperties(
    @DefaultValue("32") @Min(1) @Max(1024) int maxSpans,
    @DefaultValue("1") @Min(0) @Max(8) int maxDepth,
    @DefaultValue("64") @Min(0) @Max(4096) int maxTopicLength,
    @DefaultValue(Topics.REQUESTS) @NotBlank String requestsTopic,
    @DefaultValue(Topics.SPAN_JOBS) @NotBlank String spanJobsTopic,
    @DefaultValue(Topics.SPAN_EVENTS) @NotBlank String spanEventsTopic,
    @DefaultValue(Topics.CANCEL) @NotBlank String cancelTopic,
    @DefaultValue("8") @Min(1) @Max(1024) int topicPartitions,
    @DefaultValue("1h") Duration runningTtl,
    @DefaultValue("10m") Duration finishedTtl,
    @DefaultValue("2s") Duration workerLeaseGrace,
    @DefaultValue("1s") Duration leaseCheckInterval,
    @DefaultValue("60s") Duration claimTimeout,
    @DefaultValue("10s") Duration gapTimeout,
    @DefaultValue("10s") Duration sendTimeout,
    @DefaultValue("3s") Duration kafkaMaxBlock,
    @DefaultValue("30s") Duration kafkaDeliveryTimeout,
    @DefaultValue("10s") Duration kafkaRequestTimeout,
    @DefaultValue("5s") Duration kafkaAdminTimeout) {

  public InterpreterProperties {
    if (kafkaDeliveryTimeout.compareTo(kafkaRequestTimeout) < 0) {
      throw new IllegalArgumentException("pasta.interpreter.kafka-delivery-timeout (" + kafkaDeliveryTimeout
          + ") must be at least pasta.interpreter.kafka-request-timeout (" + kafkaRequestTimeout + ")");
    }
    if (kafkaAdminTimeout.toSeconds() < 1) {
      throw new IllegalArgumentException("pasta.interpreter.kafka-admin-timeout must be at least 1s");
    }
  }

  public PastaLimits limits() {
    return new PastaLimits(maxSpans, maxDepth, maxTopicLength);
  }
}
