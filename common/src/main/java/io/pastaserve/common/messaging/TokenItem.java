package io.pastaserve.common.messaging;

import java.util.List;

/**
 * One decoded token of a span and what it did to the answer.
 *
 * @param index the token's index in its span (0-based); duplicates are recognised by it
 * @param token the token id
 * @param text text the token adds to the answer (tags removed; may be empty)
 * @param forks spans this token started, in order: their text goes right after {@code text}
 */
public record TokenItem(int index, int token, String text, List<String> forks) {

  public TokenItem {
    text = text == null ? "" : text;
    forks = forks == null ? List.of() : List.copyOf(forks);
  }
}
