package io.pastaserve.common.messaging;

import java.util.List;
import java.util.Objects;

/**
 * Tokens a span decoded, in order, published by the worker in small batches.
 *
 * @param v schema version
 * @param requestId the request, also the Kafka key
 * @param spanId the span
 * @param parentSpanId the span that forked it, or empty for the main span
 * @param items the tokens, with consecutive indices
 * @param trailingText text the span released when it ended (held back until then), or empty
 * @param ended whether the span has ended
 */
public record SpanTokensEvent(int v, String requestId, String spanId, String parentSpanId, List<TokenItem> items,
    String trailingText, boolean ended) {

  public static final int VERSION = 1;

  public SpanTokensEvent {
    Objects.requireNonNull(requestId, "requestId");
    Objects.requireNonNull(spanId, "spanId");
    parentSpanId = parentSpanId == null ? "" : parentSpanId;
    items = items == null ? List.of() : List.copyOf(items);
    trailingText = trailingText == null ? "" : trailingText;
  }
}
