package io.pastaserve.common.lang;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * Streams the assembled text in final order while spans decode concurrently: each span's text is passed on
 * as soon as everything before it in the answer is out; text a parent writes after a promise waits until the
 * promised chunk is complete. Fed per span, in that span's order (text, fork markers, end); spans may
 * interleave freely. Not thread-safe.
 */
public final class OrderedAssembler {

  private final Consumer<String> out;
  private final Map<SpanId, SpanText> spans = new HashMap<>();
  /** Where the output stands: the span being emitted and, below it, the parents it was entered from. */
  private final Deque<Cursor> cursor = new ArrayDeque<>();
  private final StringBuilder emitted = new StringBuilder();

  public OrderedAssembler(Consumer<String> out) {
    this.out = Objects.requireNonNull(out, "out");
    cursor.push(new Cursor(span(SpanId.MAIN)));
  }

  /** Text {@code span} adds to the answer. */
  public void text(SpanId span, String text) {
    if (!text.isEmpty()) {
      span(span).pieces.add(text);
      drain();
    }
  }

  /** {@code parent} started {@code child} here: the child's text goes in this place. */
  public void fork(SpanId parent, SpanId child) {
    span(parent).pieces.add(child);
    span(child);
    drain();
  }

  /** {@code span} adds nothing more. */
  public void end(SpanId span) {
    span(span).ended = true;
    drain();
  }

  /** Everything passed on so far. */
  public String assembled() {
    return emitted.toString();
  }

  /** True once the main span and every span it depends on have ended and all text is out. */
  public boolean complete() {
    return cursor.isEmpty();
  }

  private SpanText span(SpanId id) {
    return spans.computeIfAbsent(id, k -> new SpanText());
  }

  private void drain() {
    while (!cursor.isEmpty()) {
      Cursor c = cursor.peek();
      List<Object> pieces = c.span.pieces;
      if (c.piece < pieces.size()) {
        Object piece = pieces.get(c.piece++);
        if (piece instanceof String text) {
          emitted.append(text);
          out.accept(text);
        } else {
          cursor.push(new Cursor(span((SpanId) piece)));
        }
      } else if (c.span.ended) {
        cursor.pop();
      } else {
        return;
      }
    }
  }

  private static final class SpanText {
    final List<Object> pieces = new ArrayList<>();
    boolean ended;
  }

  private static final class Cursor {
    final SpanText span;
    int piece;

    Cursor(SpanText span) {
      this.span = span;
    }
  }
}
