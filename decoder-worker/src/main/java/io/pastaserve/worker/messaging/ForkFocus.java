package io.pastaserve.worker.messaging;

import io.pastaserve.common.lang.SpanId;
import io.pastaserve.worker.engine.SpanListener;
import java.util.ArrayList;
import java.util.List;

/**
 * Passes on the events of the fork a worker decodes for another worker's request (and of the forks it
 * starts) to that request's span-event publisher, and nothing else of the request; keeps the fork's own tokens for
 * its report.
 */
final class ForkFocus implements SpanListener {
  private final SpanEventPublisher out;
  private final String span;
  private final List<Integer> tokens = new ArrayList<>();

  ForkFocus(SpanEventPublisher out, String span) {
    this.out = out;
    this.span = span;
  }

  List<Integer> tokens() {
    synchronized (tokens) {
      return List.copyOf(tokens);
    }
  }

  private boolean mine(SpanId id) {
    return id.path().equals(span) || id.path().startsWith(span + ".");
  }

  @Override
  public void onToken(SpanId id, int index, int token) {
    if (id.path().equals(span)) {
      synchronized (tokens) {
        tokens.add(token);
      }
    }
    if (mine(id)) {
      out.onToken(id, index, token);
    }
  }

  @Override
  public void onRawText(SpanId id, String raw) {
    if (mine(id)) {
      out.onRawText(id, raw);
    }
  }

  @Override
  public void onText(SpanId id, String text) {
    if (mine(id)) {
      out.onText(id, text);
    }
  }

  @Override
  public void onFork(SpanId parent, SpanId child, String topic) {
    if (mine(parent)) {
      out.onFork(parent, child, topic);
    } else if (child.path().equals(span)) {
      out.forkedElsewhere(parent, child, topic);
    }
  }

  @Override
  public void onSpanEnd(SpanId id) {
    if (mine(id)) {
      out.onSpanEnd(id);
    }
  }

  @Override
  public void onStep() {
    out.onStep();
  }
}
