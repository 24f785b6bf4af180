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
 * @param worker the id of the worker that decoded the span (the one whose tokens of it were recorded last), or
 *     empty where it is not known
 */
public record SpanTiming(String spanId, String parentSpanId, String topic, int tokens, double startMs,
    double endMs, String worker) {

  public SpanTiming {
    Objects.requireNonNull(spanId, "spanId");
    parentSpanId = parentSpanId == null ? "" : parentSpanId;
    topic = topic == null ? "" : topic;
    worker = worker == null ? "" : worker;
  }

  /** A timing that names no worker. */
  public SpanTiming(String spanId, String parentSpanId, String topic, int tokens, double startMs, double endMs) {
    this(spanId, parentSpanId, topic, tokens, startMs, endMs, "");
  }

  /** The same timing, naming {@code workerId} as the worker that decoded the span. */
  public SpanTiming withWorker(String workerId) {
    return new SpanTiming(spanId, parentSpanId, topic, tokens, startMs, endMs, workerId);
  }
}
