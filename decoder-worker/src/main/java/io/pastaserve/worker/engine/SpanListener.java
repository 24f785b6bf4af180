package io.pastaserve.worker.engine;

import io.pastaserve.common.lang.SpanId;

/**
 * Follows a request as it decodes, span by span. Called on the scheduler thread, in order for each span: keep it
 * quick and never block (hand work to another thread). A listener that throws fails its request (what it was to
 * pass on is lost), and only that request.
 *
 * <p>The answer's text in final order is each span's text with every fork's text in the place its {@link
 * #onFork} event stands ({@code io.pastaserve.common.lang.OrderedAssembler} does exactly that).
 */
public interface SpanListener {

  /** The span decoded its {@code index}-th token (0-based; end of sequence is not reported). */
  default void onToken(SpanId span, int index, int token) {
  }

  /**
   * The text of the span's latest token ({@link #onToken}) as the model wrote it, tags included: what the span's
   * parser reads. Told once per token, before the answer text the token adds ({@link #onText}).
   */
  default void onRawText(SpanId span, String raw) {
  }

  /** Text the span adds to the answer (tags removed), in order. */
  default void onText(SpanId span, String text) {
  }

  /** The span started a fork here: the fork's text goes in this place. */
  default void onFork(SpanId parent, SpanId child, String topic) {
  }

  /** The span will add nothing more. */
  default void onSpanEnd(SpanId span) {
  }

  /** A step of the engine ended (a moment to flush what was buffered). */
  default void onStep() {
  }

  SpanListener NONE = new SpanListener() {
  };
}
