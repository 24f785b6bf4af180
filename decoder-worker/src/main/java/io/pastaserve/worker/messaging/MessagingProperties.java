package io.pastaserve.worker.messaging;

import io.pastaserve.worker.engine.ForkPlacement;
import io.pastaserve.worker.engine.ForkPrefix;
import java.time.Duration;

/**
 * The worker's Kafka side, bound from {@code pasta.worker.*} by the worker's configuration.
 *
 * @param spanJobsTopic topic of span jobs (in)
 * @param spanEventsTopic topic of span events (out)
 * @param cancelTopic topic of cancellations (in)
 * @param forkResultsTopic topic of forks decoded on other workers (in: for requests run here; out: forks decoded
 *     here)
 * @param eventFlushInterval how long decoded tokens may wait to be published together
 * @param maxRequests requests this worker holds at once (running or waiting for the engine); beyond it the worker
 *     takes no job, which stays in Kafka for other workers (and counts as lag for autoscaling)
 * @param drainTimeout on a clean stop, how long running requests may take to finish before the rest are handed
 *     to other workers
 * @param eventQueueCapacity span event envelopes that may wait to be sent, all requests together
 * @param eventDeliveryTimeout how long a request's span events may keep failing to reach the broker before the
 *     request is handed to another worker
 * @param kafkaDeliveryTimeout the producer's {@code delivery.timeout.ms}: when a send's result is known at the latest
 * @param remoteForkTimeout how long a fork placed on another worker may take before it is decoded here after all
 * @param remoteForkClaimTimeout how long a fork placed on another worker may wait for a worker to claim it before it
 *     is decoded here after all
 * @param forkPlacement where the engine's forks decode ({@link ForkPlacement})
 * @param forkPrefix how a fork placed on another worker gets its prefix there ({@link ForkPrefix}): by prefill of the
 *     request's token ids, or from its parent's cache put in Redis
 * @param forkPrefixMaxBytes the largest parent's cache put in Redis for one fork; a larger one goes as token ids
 */
public record MessagingProperties(String spanJobsTopic, String spanEventsTopic, String cancelTopic,
    String forkResultsTopic, Duration eventFlushInterval, int maxRequests, Duration drainTimeout,
    int eventQueueCapacity, Duration eventDeliveryTimeout, Duration kafkaDeliveryTimeout,
    Duration remoteForkTimeout, Duration remoteForkClaimTimeout, ForkPlacement forkPlacement, ForkPrefix forkPrefix,
    long forkPrefixMaxBytes) {
}
