package io.pastaserve.common.lang;

import java.util.Objects;

/** One part of a span's own output, in the order the span wrote it. */
public sealed interface Piece {

  /** The characters the span itself wrote for this piece (empty for text it was fed). */
  String raw();

  /** Ordinary text: part of the assembled text. */
  record Text(String text) implements Piece {
    public Text {
      Objects.requireNonNull(text, "text");
    }

    @Override
    public String raw() {
      return text;
    }
  }

  /** A promise that forked {@code child}; the child's content takes the promise's place in the text. */
  record Fork(PastaEvent.Promise promise, SpanId child) implements Piece {
    public Fork {
      Objects.requireNonNull(promise, "promise");
      Objects.requireNonNull(child, "child");
    }

    @Override
    public String raw() {
      return promise.raw();
    }
  }

  /** A {@code <sync/>} that joined {@code joined} forks (0 when nothing was outstanding: no effect). */
  record Join(PastaEvent.Sync sync, int joined) implements Piece {
    public Join {
      Objects.requireNonNull(sync, "sync");
    }

    @Override
    public String raw() {
      return sync.raw();
    }
  }

  /**
   * A tag that does not fork or join: it never reaches the assembled text but stays in the transcript.
   * {@code decoded} is false for an opener the interpreter injected rather than the model wrote.
   */
  record Inert(PastaEvent tag, Role role, boolean decoded) implements Piece {
    public Inert {
      Objects.requireNonNull(tag, "tag");
      Objects.requireNonNull(role, "role");
    }

    @Override
    public String raw() {
      return tag.raw();
    }
  }

  /** Why a tag is inert. */
  enum Role {
    /** A promise whose chunk is written inline by its own span (over a limit: serial execution). */
    INLINE_PROMISE,
    /** The opener of an inline chunk. */
    INLINE_OPEN,
    /** The closer of an inline chunk. */
    INLINE_CLOSE,
    /** A promise with no async block right after it: no chunk. */
    UNFULFILLED_PROMISE,
    /** An {@code </async>} with no async open: dropped. */
    STRAY_CLOSE,
    /** A broken tag (cut off by a {@code '<'} before its {@code '>'}, or a closer of a tag that has none). */
    BROKEN_TAG
  }
}
