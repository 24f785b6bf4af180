package io.pastaserve.common.messaging;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.List;

/**
 * One decoded token of a span and what it did to the answer.
 *
 * @param index the token's index in its span (0-based); duplicates are recognised by it
 * @param token the token id
 * @param text text the token adds to the answer (tags removed; may be empty)
 * @param forks spans this token started, in order: their text goes right after {@code text}
 * @param raw the token's text as the model wrote it, tags included — only where it differs from {@code text}; null
 *     where it is the same, and from a worker that predates the field: {@link SpanTokensEvent#rawText} says which.
 *     Use {@link #rawOr(boolean)} to read it
 */
public record TokenItem(int index, int token, String text, List<String> forks,
    @JsonInclude(JsonInclude.Include.NON_NULL) String raw) {

  public TokenItem {
    text = text == null ? "" : text;
    forks = forks == null ? List.of() : List.copyOf(forks);
  }

  /** A token whose raw text is not told (or is {@code text}, when its event says it tells it). */
  public TokenItem(int index, int token, String text, List<String> forks) {
    this(index, token, text, forks, null);
  }

  /** A token as its worker wrote it: {@code raw} is kept only where it differs from {@code text}. */
  public static TokenItem of(int index, int token, String text, List<String> forks, String raw) {
    String t = text == null ? "" : text;
    return new TokenItem(index, token, t, forks, raw == null || raw.equals(t) ? null : raw);
  }

  /**
   * The token's raw text, or null when not told.
   *
   * @param told whether its event tells raw text ({@link SpanTokensEvent#rawText}): then an absent {@code raw} is
   *     {@code text}
   */
  public String rawOr(boolean told) {
    return raw != null ? raw : told ? text : null;
  }

  /** This token with its raw text spelled out in full ({@code raw} set even where it is {@code text}), or not. */
  public TokenItem withRaw(String rawText) {
    return new TokenItem(index, token, text, forks, rawText);
  }
}
