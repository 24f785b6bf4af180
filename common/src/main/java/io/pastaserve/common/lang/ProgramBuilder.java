package io.pastaserve.common.lang;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * Builds a {@link Program} from the events of a flat transcript, applying the malformed-annotation policy of
 * {@code docs/pasta-lang.md}: it never throws on content, never drops a character of text, and reports
 * every degradation as a {@link Diagnostic}. One builder per transcript; not thread-safe.
 */
public final class ProgramBuilder {

  private final PastaLimits limits;
  private final Map<SpanId, Draft> drafts = new LinkedHashMap<>();
  /** Where text goes now: a span, or an inline chunk inside a span. The bottom is the main span. */
  private final Deque<Frame> frames = new ArrayDeque<>();
  private final List<Diagnostic> diagnostics = new ArrayList<>();
  /** A promise just read, waiting to see whether its async block follows. */
  private PastaEvent.Promise pending;
  private boolean built;

  public ProgramBuilder(PastaLimits limits) {
    this.limits = limits;
    Draft main = new Draft(SpanId.MAIN, null, null, -1, null);
    drafts.put(main.id, main);
    frames.push(new Frame(main, false));
  }

  public void accept(PastaEvent event) {
    if (built) {
      throw new IllegalStateException("program already built");
    }
    if (!event.defects().isEmpty()) {
      diagnose(Diagnostic.Kind.MALFORMED_TAG, top(), tagName(event) + ": " + String.join("; ", event.defects()));
    }
    if (event instanceof PastaEvent.AsyncOpen open) {
      if (pending != null) {
        claim(open);
      } else {
        Draft span = top();
        diagnose(Diagnostic.Kind.ORPHAN_ASYNC, span, "async block \"" + open.topic()
            + "\" without a promise right before it: its content stays in place");
        span.add(new Piece.Inert(open, Piece.Role.INLINE_OPEN, true));
        frames.push(new Frame(span, true));
      }
      return;
    }
    resolveUnfulfilled();
    if (event instanceof PastaEvent.Text text) {
      top().add(new Piece.Text(text.text()));
    } else if (event instanceof PastaEvent.Promise promise) {
      pending = promise;
    } else if (event instanceof PastaEvent.AsyncClose close) {
      close(close);
    } else if (event instanceof PastaEvent.BrokenTag broken) {
      top().add(new Piece.Inert(broken, Piece.Role.BROKEN_TAG, true));
    } else if (event instanceof PastaEvent.Sync sync) {
      Draft span = top();
      int joined = span.outstanding;
      span.outstanding = 0;
      if (joined == 0) {
        diagnose(Diagnostic.Kind.STRAY_SYNC, span, "sync with no outstanding fork: no effect");
      }
      span.add(new Piece.Join(sync, joined));
    }
  }

  /** Ends the transcript: whatever is still open closes here. */
  public Program build() {
    if (!built) {
      built = true;
      resolveUnfulfilled();
      while (frames.size() > 1) {
        Frame frame = frames.pop();
        diagnose(Diagnostic.Kind.UNCLOSED_ASYNC, frame.span, "async block never closed: closed at the end");
        if (frame.inline) {
          frame.span.add(new Piece.Inert(PastaEvent.AsyncClose.canonical(), Piece.Role.INLINE_CLOSE, false));
        }
      }
    }
    return new Program(drafts.values().stream().map(Draft::toSpan).toList(), diagnostics);
  }

  private void claim(PastaEvent.AsyncOpen open) {
    PastaEvent.Promise promise = pending;
    pending = null;
    Draft parent = top();
    Diagnostic.Kind over = null;
    if (parent.id.depth() + 1 > limits.maxDepth()) {
      over = Diagnostic.Kind.DEPTH_LIMIT;
    } else if (drafts.size() >= limits.maxSpans()) {
      over = Diagnostic.Kind.SPAN_LIMIT;
    }
    if (over != null) {
      diagnose(over, parent, "promise \"" + promise.topic() + "\" over the "
          + (over == Diagnostic.Kind.DEPTH_LIMIT ? "nesting limit (" + limits.maxDepth() + ")"
              : "span limit (" + limits.maxSpans() + ")") + ": its chunk is written inline");
      parent.add(new Piece.Inert(promise, Piece.Role.INLINE_PROMISE, true));
      parent.add(new Piece.Inert(open, Piece.Role.INLINE_OPEN, false));
      frames.push(new Frame(parent, true));
      return;
    }
    if (!open.topic().equals(promise.topic())) {
      diagnose(Diagnostic.Kind.TOPIC_MISMATCH, parent, "async topic \"" + open.topic()
          + "\" differs from its promise's \"" + promise.topic() + "\": the promise's is kept");
    }
    SpanId childId = parent.id.child(++parent.forkCount);
    Draft child = new Draft(childId, parent.id, promise, parent.ownChars + promise.raw().length(), open);
    drafts.put(childId, child);
    parent.add(new Piece.Fork(promise, childId));
    parent.outstanding++;
    frames.push(new Frame(child, false));
  }

  private void close(PastaEvent.AsyncClose close) {
    if (frames.size() == 1) {
      Draft main = top();
      diagnose(Diagnostic.Kind.STRAY_CLOSE, main, "closer with no async block open: dropped");
      main.add(new Piece.Inert(close, Piece.Role.STRAY_CLOSE, true));
      return;
    }
    Frame frame = frames.pop();
    if (frame.inline) {
      frame.span.add(new Piece.Inert(close, Piece.Role.INLINE_CLOSE, true));
    } else {
      frame.span.closer = close;
    }
  }

  private void resolveUnfulfilled() {
    if (pending != null) {
      Draft span = top();
      diagnose(Diagnostic.Kind.UNFULFILLED_PROMISE, span, "promise \"" + pending.topic()
          + "\" not followed by its async block: no chunk");
      span.add(new Piece.Inert(pending, Piece.Role.UNFULFILLED_PROMISE, true));
      pending = null;
    }
  }

  private static String tagName(PastaEvent tag) {
    if (tag instanceof PastaEvent.BrokenTag) {
      return "broken tag";
    }
    if (tag instanceof PastaEvent.Promise) {
      return "promise";
    }
    if (tag instanceof PastaEvent.AsyncOpen) {
      return "async";
    }
    return tag instanceof PastaEvent.AsyncClose ? "/async" : "sync";
  }

  private Draft top() {
    return frames.peek().span;
  }

  private void diagnose(Diagnostic.Kind kind, Draft span, String detail) {
    diagnostics.add(new Diagnostic(kind, span.id, detail));
  }

  private record Frame(Draft span, boolean inline) {
  }

  /** A span under construction. */
  private static final class Draft {
    final SpanId id;
    final SpanId parent;
    final PastaEvent.Promise promise;
    final int forkOffset;
    final PastaEvent.AsyncOpen opener;
    final List<Piece> pieces = new ArrayList<>();
    /** Text not yet added to {@code pieces}, so that adjacent text merges in linear time. */
    final StringBuilder textRun = new StringBuilder();
    PastaEvent.AsyncClose closer;
    int ownChars;
    int forkCount;
    int outstanding;

    Draft(SpanId id, SpanId parent, PastaEvent.Promise promise, int forkOffset, PastaEvent.AsyncOpen opener) {
      this.id = id;
      this.parent = parent;
      this.promise = promise;
      this.forkOffset = forkOffset;
      this.opener = opener;
    }

    void add(Piece piece) {
      if (piece instanceof Piece.Text text) {
        textRun.append(text.text());
      } else {
        flushText();
        pieces.add(piece);
      }
      if (!(piece instanceof Piece.Inert inert) || inert.decoded()) {
        ownChars += piece.raw().length();
      }
    }

    private void flushText() {
      if (textRun.length() > 0) {
        pieces.add(new Piece.Text(textRun.toString()));
        textRun.setLength(0);
      }
    }

    Span toSpan() {
      flushText();
      return new Span(id, Optional.ofNullable(parent),
          Optional.ofNullable(promise).map(PastaEvent.Promise::topic),
          promise == null ? OptionalInt.empty() : promise.predictedTokens(),
          forkOffset, Optional.ofNullable(opener), Optional.ofNullable(closer), pieces);
    }
  }
}
