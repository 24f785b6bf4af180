package io.pastaserve.common.messaging;

import java.util.List;
import java.util.Objects;

/**
 * The worker finished a request.
 *
 * @param v schema version
 * @param requestId the request, also the Kafka key
 * @param finishReason {@code stop}, {@code length}, {@code cancelled} or {@code error}
 * @param error a message when the reason is {@code error}, else empty
 * @param promptTokens prompt tokens
 * @param completionTokens tokens decoded by all spans
 * @param criticalPathTokens the longest chain of tokens decoded one after another
 * @param forks spans forked
 * @param annotated the flat transcript (the answer with its annotations)
 * @param spans when each span decoded (empty when unknown)
 */
public record RequestFinishedEvent(int v, String requestId, String finishReason, String error, int promptTokens,
    long completionTokens, long criticalPathTokens, int forks, String annotated, List<SpanTiming> spans) {

  public static final int VERSION = 1;

  public RequestFinishedEvent {
    Objects.requireNonNull(requestId, "requestId");
    Objects.requireNonNull(finishReason, "finishReason");
    error = error == null ? "" : error;
    annotated = annotated == null ? "" : annotated;
    spans = spans == null ? List.of() : List.copyOf(spans);
  }
}
