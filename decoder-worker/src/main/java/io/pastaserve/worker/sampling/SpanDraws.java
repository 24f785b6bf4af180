package io.pastaserve.worker.sampling;

import io.pastaserve.common.lang.SpanId;

/**
 * The random numbers of one span, one per token it chooses. The number for its {@code k}-th token depends only on
 * the request's seed, the span's place in the program and {@code k}: not on what else shares the batch, nor on how
 * the span got to its {@code k}-th token. A span resumed from recorded token ids (which it is given, not drawn)
 * therefore draws for its next token what it would have drawn had it never stopped.
 *
 * @param key the seed mixed with the span's id path
 */
public record SpanDraws(long key) {

  private static final long GOLDEN_GAMMA = 0x9E3779B97F4A7C15L;

  /** The draws of {@code span} of a request seeded with {@code seed}. */
  public static SpanDraws of(long seed, SpanId span) {
    long h = GOLDEN_GAMMA;
    for (String ordinal : span.path().split("\\.")) {
      h = (h ^ Long.parseLong(ordinal)) * 0xBF58476D1CE4E5B9L;
      h ^= h >>> 31;
    }
    return new SpanDraws(seed ^ h);
  }

  /** The uniform number in {@code [0, 1)} for the span's {@code index}-th chosen token (0-based). */
  public double uniform(long index) {
    long z = key + (index + 1) * GOLDEN_GAMMA;
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    z ^= z >>> 31;
    return (z >>> 11) * 0x1.0p-53;
  }
}
