/**
 * The messages the services exchange over Kafka, as immutable records with a schema version, and the names
 * of topics and Redis keys. The request id is always the Kafka key, so a request's messages stay in order on
 * one partition. Serialized as JSON; the span-events topic carries a {@link
 * io.pastaserve.common.messaging.SpanEventEnvelope}.
 */
package io.pastaserve.common.messaging;
