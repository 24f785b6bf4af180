/**
 * The worker's side of the Kafka span path: span jobs in, span events out, cancellations; resumption from the
 * token ids the interpreter recorded in Redis.
 */
package io.pastaserve.worker.messaging;
