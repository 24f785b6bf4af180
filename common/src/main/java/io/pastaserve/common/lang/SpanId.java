package io.pastaserve.common.lang;

import java.util.Arrays;
import java.util.Optional;

/**
 * A span's place in the program: the main span is {@code 0}, its forks {@code 0.1}, {@code 0.2}, … in the
 * order they were promised, their forks {@code 0.1.1}, …. The id depends only on the program, never on
 * scheduling, so it can seed per-span random streams.
 */
public record SpanId(String path) implements Comparable<SpanId> {

  public static final SpanId MAIN = new SpanId("0");

  public SpanId {
    if (!valid(path)) {
      throw new IllegalArgumentException("not a span id: " + path);
    }
  }

  /** Parses a span id path such as {@code 0.2}. */
  public static SpanId of(String path) {
    return path.equals("0") ? MAIN : new SpanId(path);
  }

  /** The id of this span's {@code ordinal}-th fork (1-based). */
  public SpanId child(int ordinal) {
    if (ordinal < 1) {
      throw new IllegalArgumentException("fork ordinal starts at 1, was " + ordinal);
    }
    return new SpanId(path + "." + ordinal);
  }

  /** The span that forks this one: empty for the main span. */
  public Optional<SpanId> parent() {
    int dot = path.lastIndexOf('.');
    return dot < 0 ? Optional.empty() : Optional.of(of(path.substring(0, dot)));
  }

  /** Whether {@code path} is a span id ({@link #of} would accept it). */
  public static boolean valid(String path) {
    return path != null && path.matches("0(\\.[1-9][0-9]{0,8})*");
  }

  /** 0 for the main span, 1 for its forks, and so on. */
  public int depth() {
    return (int) path.chars().filter(c -> c == '.').count();
  }

  public boolean isMain() {
    return path.equals("0");
  }

  @Override
  public int compareTo(SpanId other) {
    int[] a = ordinals();
    int[] b = other.ordinals();
    return Arrays.compare(a, b);
  }

  private int[] ordinals() {
    return Arrays.stream(path.split("\\.")).mapToInt(Integer::parseInt).toArray();
  }

  @Override
  public String toString() {
    return path;
  }
}
