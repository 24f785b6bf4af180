package io.pastaserve.common.messaging;

import java.util.Objects;

/**
 * When one span decoded, as the worker that finished the request saw it.
 *
 * @param spanId the span ({@code 0} is the main span)
 * @param parentSpanId the span it forked from, or empty for the main span
 * @param topic the promise's topic, or empty for the main span
 * @param tokens tokens the span decoded
 * @param startMs milliseconds from the request reaching the worker to the span's first token
 * @param endMs milliseconds from the request reaching the worker to the span's end
 */
public record SpanTiming(String spanId, String parentSpanId, String topic, int tokens, double startMs,
    double endMs) {

  public SpanTiming {
    Objects.requireNonNull(spanId, "spanId");
    parentSpanId = parentSpanId == null ? "" : parentSpanId;
    topic = topic == null ? "" : topic;
  }
}
