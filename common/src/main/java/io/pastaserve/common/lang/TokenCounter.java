package io.pastaserve.common.lang;

/** Counts the tokens of a piece of text, for plan statistics. */
@FunctionalInterface
public interface TokenCounter {

  int count(String text);
}
