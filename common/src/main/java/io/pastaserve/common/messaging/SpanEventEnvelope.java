package io.pastaserve.common.messaging;

/**
 * JSON envelope of the span-events topic: a worker publishes either kind there, and the consumer tells them
 * apart by {@code type}.
 *
 * @param type {@code tokens} or {@code finished}
 * @param tokens the tokens event when {@code type} is {@code tokens}
 * @param finished the finish event when {@code type} is {@code finished}
 */
public record SpanEventEnvelope(String type, SpanTokensEvent tokens, RequestFinishedEvent finished) {

  public static SpanEventEnvelope of(SpanTokensEvent event) {
    return new SpanEventEnvelope("tokens", event, null);
  }

  public static SpanEventEnvelope of(RequestFinishedEvent event) {
    return new SpanEventEnvelope("finished", null, event);
  }
}
