package io.pastaserve.worker.engine;

import java.util.Locale;
import java.util.OptionalInt;

/** How many positions a parent skips after a promise, for the chunk to take (docs/pasta-lang.md, Positions). */
public enum ReservationPolicy {
  /** The promise's {@code tokens} (or the default) plus the opener and closer lengths. */
  PREDICTED,
  /** Always the default plus the opener and closer lengths. */
  FIXED,
  /** Nothing: the parent continues right after the promise. */
  NONE;

  /** Positions reserved for a chunk. */
  public int reserve(OptionalInt predicted, int defaultTokens, int openerTokens, int closerTokens, int cap) {
    int chunk = switch (this) {
      case PREDICTED -> Math.min(predicted.orElse(defaultTokens), cap);
      case FIXED -> defaultTokens;
      case NONE -> -1;
    };
    return chunk < 0 ? 0 : chunk + openerTokens + closerTokens;
  }

  public static ReservationPolicy parse(String value) {
    try {
      return valueOf(value.trim().toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("reservation must be predicted, fixed or none, not '" + value + "'");
    }
  }
}
