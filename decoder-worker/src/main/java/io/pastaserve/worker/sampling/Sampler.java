package io.pastaserve.worker.sampling;

import io.pastaserve.common.request.Sampling;
import java.nio.FloatBuffer;
import java.util.Arrays;

/**
 * Picks a token from one row of logits. Stateless: the randomness is the one number the caller draws for this
 * token ({@link SpanDraws}), so a span chooses the same tokens whatever else shares its batch.
 */
public final class Sampler {

  private float[] scratch = new float[0];
  private Integer[] order = new Integer[0];

  /** Greedy choice: the highest logit, the lowest id on ties. */
  public static int argmax(FloatBuffer logits, int offset, int vocab) {
    int best = 0;
    float bestValue = Float.NEGATIVE_INFINITY;
    for (int i = 0; i < vocab; i++) {
      float v = logits.get(offset + i);
      if (v > bestValue) {
        bestValue = v;
        best = i;
      }
    }
    return best;
  }

  /**
   * Chooses a token from {@code vocab} logits at {@code offset}; {@code uniform}, in {@code [0, 1)}, picks among the
   * candidates (unused when greedy). One thread per sampler.
   */
  public int sample(FloatBuffer logits, int offset, int vocab, Sampling params, double uniform) {
    if (params.isGreedy()) {
      return argmax(logits, offset, vocab);
    }
    if (scratch.length < vocab) {
      scratch = new float[vocab];
      order = new Integer[vocab];
    }
    float max = Float.NEGATIVE_INFINITY;
    for (int i = 0; i < vocab; i++) {
      scratch[i] = (float) (logits.get(offset + i) / params.temperature());
      max = Math.max(max, scratch[i]);
    }
    double sum = 0;
    for (int i = 0; i < vocab; i++) {
      scratch[i] = (float) Math.exp(scratch[i] - max);
      sum += scratch[i];
    }
    int candidates = vocab;
    for (int i = 0; i < vocab; i++) {
      order[i] = i;
    }
    final float[] p = scratch;
    Arrays.sort(order, 0, vocab, (a, b) -> p[a] != p[b] ? Float.compare(p[b], p[a]) : Integer.compare(a, b));
    if (params.topK() > 0) {
      candidates = Math.min(candidates, params.topK());
    }
    double kept = 0;
    int n = 0;
    while (n < candidates) {
      kept += p[order[n]];
      n++;
      if (kept / sum >= params.topP()) {
        break;
      }
    }
    double r = uniform * kept;
    double acc = 0;
    for (int i = 0; i < n; i++) {
      acc += p[order[i]];
      if (r < acc) {
        return order[i];
      }
    }
    return order[n - 1];
  }
}
