package io.pastaserve.common.lang;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A tokenizer-free estimate: the number of pieces GPT-2's pre-tokenizer splits the text into (contractions,
 * words, numbers, punctuation runs, whitespace runs). Byte-level BPE never merges across these pieces, so
 * this is a lower bound of, and usually close to, a real count. Used where no model tokenizer is at hand.
 */
public final class ApproximateTokenCounter implements TokenCounter {

  public static final ApproximateTokenCounter INSTANCE = new ApproximateTokenCounter();

  private static final Pattern PIECES = Pattern.compile(
      "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+");

  private ApproximateTokenCounter() {
  }

  @Override
  public int count(String text) {
    Matcher m = PIECES.matcher(text);
    int n = 0;
    while (m.find()) {
      n++;
    }
    return n;
  }

  @Override
  public String toString() {
    return "approximate (GPT-2 pre-tokenizer pieces)";
  }
}
