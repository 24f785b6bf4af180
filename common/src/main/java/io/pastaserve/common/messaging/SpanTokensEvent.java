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
 * @param worker the id of the worker that decoded these tokens ({@link WorkerHeartbeat#workerId}), or empty (a
 *     worker that predates the field)
 * @param topic for a fork, the topic of the promise it was forked at, as the worker read it; empty for the main
 *     span and from a worker that predates the field
 * @param rawText whether the items tell each token's raw text, tags included (an item's {@link TokenItem#raw}, or
 *     its {@code text} where {@code raw} is absent): the interpreter reads the span's program from it. False from a
 *     worker that predates the field
 */
public record SpanTokensEvent(int v, String requestId, String spanId, String parentSpanId, List<TokenItem> items,
    String trailingText, boolean ended, String worker, String topic, boolean rawText) {

  public static final int VERSION = 1;

  public SpanTokensEvent {
    Objects.requireNonNull(requestId, "requestId");
    Objects.requireNonNull(spanId, "spanId");
    parentSpanId = parentSpanId == null ? "" : parentSpanId;
    items = items == null ? List.of() : List.copyOf(items);
    trailingText = trailingText == null ? "" : trailingText;
    worker = worker == null ? "" : worker;
    topic = topic == null ? "" : topic;
  }

  /** An event that does not tell its tokens' raw text. */
  public SpanTokensEvent(int v, String requestId, String spanId, String parentSpanId, List<TokenItem> items,
      String trailingText, boolean ended, String worker, String topic) {
    this(v, requestId, spanId, parentSpanId, items, trailingText, ended, worker, topic, false);
  }

  /** An event that names neither its worker nor its topic. */
  public SpanTokensEvent(int v, String requestId, String spanId, String parentSpanId, List<TokenItem> items,
      String trailingText, boolean ended) {
    this(v, requestId, spanId, parentSpanId, items, trailingText, ended, "", "", false);
  }

  /** The same event with other items (a part of its own), everything else kept. */
  public SpanTokensEvent withItems(List<TokenItem> someItems, String trailing, boolean end) {
    return new SpanTokensEvent(v, requestId, spanId, parentSpanId, someItems, trailing, end, worker, topic, rawText);
  }
}
