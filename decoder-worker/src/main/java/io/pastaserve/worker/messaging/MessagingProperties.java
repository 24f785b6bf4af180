package io.pastaserve.worker.messaging;

/** Topic names the worker uses; bound from {@code pasta.messaging.*} by the worker's configuration. */
public record MessagingProperties(String spanJobsTopic, String spanEventsTopic, String cancelTopic,
    java.time.Duration eventFlushInterval) {
}
