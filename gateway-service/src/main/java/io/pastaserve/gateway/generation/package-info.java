/**
 * Running a request through the suite: admission (bulkhead, rate limits), enqueueing to Kafka behind a circuit
 * breaker and time limiter, reading the answer back from its Redis output stream, cancellation and metrics.
 */
package io.pastaserve.gateway.generation;
