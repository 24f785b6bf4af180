package io.pastaserve.worker.engine;

import io.pastaserve.common.lang.PastaLimits;
import java.util.Objects;

/**
 * Settings of one engine.
 *
 * @param maxBatch rows (spans) decoded together in one step; more wait their turn
 * @param kvBudgetTokens cache, in tokens, that admitted requests may use; a request is admitted only while its
 *     prompt plus its max tokens fit beside what the admitted requests have reserved the same way (or hold,
 *     if more), otherwise it waits in the queue
 * @param prefillTokensPerStep prompt and opener tokens computed per step beside decoding (longer prefills are
 *     chunked)
 * @param maxSpanTokens tokens one span may decode (its budget)
 * @param limits PASTA-LANG limits (spans, nesting, topic length)
 * @param reservation the position reservation policy
 */
public record EngineConfig(int maxBatch, long kvBudgetTokens, int prefillTokensPerStep, int maxSpanTokens,
    PastaLimits limits, ReservationPolicy reservation) {

  public EngineConfig {
    if (maxBatch < 1) {
      throw new IllegalArgumentException("maxBatch must be at least 1");
    }
    if (kvBudgetTokens < 1) {
      throw new IllegalArgumentException("kvBudgetTokens must be at least 1");
    }
    if (prefillTokensPerStep < 1) {
      throw new IllegalArgumentException("prefillTokensPerStep must be at least 1");
    }
    if (maxSpanTokens < 1) {
      throw new IllegalArgumentException("maxSpanTokens must be at least 1");
    }
    Objects.requireNonNull(limits, "limits");
    Objects.requireNonNull(reservation, "reservation");
  }

  public static EngineConfig defaults() {
    return new EngineConfig(16, 65_536, 512, 1024, PastaLimits.defaults(), ReservationPolicy.PREDICTED);
  }

  public EngineConfig withMaxBatch(int rows) {
    return new EngineConfig(rows, kvBudgetTokens, prefillTokensPerStep, maxSpanTokens, limits, reservation);
  }

  public EngineConfig withKvBudgetTokens(long tokens) {
    return new EngineConfig(maxBatch, tokens, prefillTokensPerStep, maxSpanTokens, limits, reservation);
  }

  public EngineConfig withLimits(PastaLimits newLimits) {
    return new EngineConfig(maxBatch, kvBudgetTokens, prefillTokensPerStep, maxSpanTokens, newLimits, reservation);
  }
}
