package io.pastaserve.common.lang;

import java.util.Objects;

/**
 * A departure from well-formed PASTA-LANG and what was done about it. Diagnostics never stop execution;
 * they explain where it degraded.
 *
 * @param kind what was wrong
 * @param span the span it happened in
 * @param detail a short human-readable explanation
 */
public record Diagnostic(Kind kind, SpanId span, String detail) {

  public Diagnostic {
    Objects.requireNonNull(kind, "kind");
    Objects.requireNonNull(span, "span");
    Objects.requireNonNull(detail, "detail");
  }

  /** Kinds of malformed structure, each with the policy applied (see {@code docs/pasta-lang.md}). */
  public enum Kind {
    /** A promise over the span limit: its chunk was written inline. */
    SPAN_LIMIT,
    /** A promise over the nesting limit: its chunk was written inline. */
    DEPTH_LIMIT,
    /** A promise not followed by its async block: it has no chunk. */
    UNFULFILLED_PROMISE,
    /** An async block with no promise right before it: its content stays in place as ordinary text. */
    ORPHAN_ASYNC,
    /** A closer with nothing open: dropped. */
    STRAY_CLOSE,
    /** A sync with no outstanding fork: no effect. */
    STRAY_SYNC,
    /** An async block still open at the end: closed there. */
    UNCLOSED_ASYNC,
    /** An async block whose topic differs from its promise's: the promise's topic is kept. */
    TOPIC_MISMATCH,
    /**
     * A tag that departs from the grammar (odd attribute values, quoting or spacing): it still acts as its
     * tag, its topic read leniently, a malformed {@code tokens} hint ignored. Or a broken tag (cut off by a
     * {@code '<'} before its {@code '>'}, or {@code </promise>} and {@code </sync>}): removed, no effect.
     */
    MALFORMED_TAG
  }
}
