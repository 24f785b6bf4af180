package io.pastaserve.worker.engine;

import io.pastaserve.common.lang.OrderedAssembler;
import io.pastaserve.common.lang.SpanId;
import io.pastaserve.common.lang.StopMatcher;
import java.util.List;

/**
 * Looks for a request's stop strings in its answer as the user reads it: every span's text in final order, each
 * fork's text in its promise's place. A span's own text is not enough: its text on either side of a fork's place is
 * not adjacent in the answer, and a stop string may run from one span's text into another's. Follows the request's
 * spans like any {@link SpanListener}, on the scheduler thread.
 */
final class StopWatch implements SpanListener {

  private final StopMatcher matcher;
  private final OrderedAssembler assembler;

  StopWatch(List<String> stops) {
    this.matcher = new StopMatcher(stops);
    this.assembler = new OrderedAssembler(matcher::feed);
  }

  /** Whether the answer so far holds a stop string: the request ends. */
  boolean matched() {
    return matcher.matched();
  }

  @Override
  public void onText(SpanId span, String text) {
    if (!matcher.matched()) {
      assembler.text(span, text);
    }
  }

  @Override
  public void onFork(SpanId parent, SpanId child, String topic) {
    if (!matcher.matched()) {
      assembler.fork(parent, child);
    }
  }

  @Override
  public void onSpanEnd(SpanId span) {
    if (!matcher.matched()) {
      assembler.end(span);
    }
  }

  /** {@code text} cut before the first of {@code stops} in it (all of it when none is). */
  static String cut(String text, List<String> stops) {
    StopMatcher m = new StopMatcher(stops);
    return m.feed(text) + m.finish();
  }
}
