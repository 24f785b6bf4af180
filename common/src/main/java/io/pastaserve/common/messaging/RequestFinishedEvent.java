package io.pastaserve.common.messaging;

import io.pastaserve.common.request.FinishReason;
import java.util.List;
import java.util.Objects;

/**
 * The worker finished a request.
 *
 * @param v schema version
 * @param requestId the request, also the Kafka key
 * @param finishReason why it ended
 * @param error a message when the reason is {@link FinishReason#ERROR}, else empty
 * @param promptTokens prompt tokens
 * @param completionTokens tokens decoded by all spans
 * @param criticalPathTokens the longest chain of tokens decoded one after another
 * @param forks spans forked
 * @param annotated the flat transcript (the answer with its annotations)
 * @param spans when each span decoded (empty when unknown)
 */
public record RequestFinishedEvent(int v, String requestId, FinishReason finishReason, String error, int promptTokens,
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
