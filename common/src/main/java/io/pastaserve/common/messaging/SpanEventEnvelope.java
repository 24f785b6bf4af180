package io.pastaserve.common.messaging;

import java.util.List;

/**
 * JSON envelope of the span-events topic: a worker publishes these kinds there, and the consumer tells them apart by
 * {@code type}. A {@code batch} carries what several spans of one request decoded since the last flush, in the order
 * they are to be applied: one record instead of one per span. (Interpreters that predate {@code batch} send it to
 * the dead-letter topic: upgrade the interpreters before the workers.)
 *
 * @param type {@code tokens}, {@code batch} or {@code finished}
 * @param tokens the tokens event when {@code type} is {@code tokens}
 * @param finished the finish event when {@code type} is {@code finished}
 * @param batch the tokens events, all of one request, when {@code type} is {@code batch}
 */
public record SpanEventEnvelope(String type, SpanTokensEvent tokens, RequestFinishedEvent finished,
    List<SpanTokensEvent> batch) {

  public SpanEventEnvelope {
    batch = batch == null ? null : List.copyOf(batch);
  }

  public static SpanEventEnvelope of(SpanTokensEvent event) {
    return new SpanEventEnvelope("tokens", event, null, null);
  }

  public static SpanEventEnvelope of(RequestFinishedEvent event) {
    return new SpanEventEnvelope("finished", null, event, null);
  }

  /** One event as it is, several (all of one request) as a {@code batch}. */
  public static SpanEventEnvelope of(List<SpanTokensEvent> events) {
    if (events.isEmpty()) {
      throw new IllegalArgumentException("an empty batch");
    }
    return events.size() == 1 ? of(events.get(0)) : new SpanEventEnvelope("batch", null, null, events);
  }

  /** The tokens events this envelope carries, in order: none for {@code finished}. */
  public List<SpanTokensEvent> tokensEvents() {
    return batch != null ? batch : tokens != null ? List.of(tokens) : List.of();
  }
}
