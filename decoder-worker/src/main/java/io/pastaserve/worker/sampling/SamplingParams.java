package io.pastaserve.worker.sampling;

import java.util.List;

/**
 * How to choose tokens.
 *
 * @param temperature 0 for greedy; otherwise logits are divided by it
 * @param topP nucleus sampling: keep the smallest set of tokens whose probability reaches this (1 keeps all)
 * @param topK keep the k most likely tokens (0 keeps all)
 * @param seed seeds every span's random stream (with the span's id); equal seeds give equal text
 * @param maxTokens tokens decoded by the whole request, all spans together
 * @param stop strings that end the answer (looked for in the answer in final order, every fork's text in its
 *     place; the answer is cut before the first)
 */
public record SamplingParams(double temperature, double topP, int topK, long seed, int maxTokens,
    List<String> stop) {

  public SamplingParams {
    if (!(temperature >= 0) || temperature > 100) {
      throw new IllegalArgumentException("temperature must be in [0, 100], was " + temperature);
    }
    if (!(topP > 0) || topP > 1) {
      throw new IllegalArgumentException("top_p must be in (0, 1], was " + topP);
    }
    if (topK < 0) {
      throw new IllegalArgumentException("top_k must not be negative, was " + topK);
    }
    if (maxTokens < 1) {
      throw new IllegalArgumentException("max tokens must be at least 1, was " + maxTokens);
    }
    stop = List.copyOf(stop);
  }

  public static SamplingParams greedy(int maxTokens) {
    return new SamplingParams(0, 1, 0, 0, maxTokens, List.of());
  }

  public boolean isGreedy() {
    return temperature == 0;
  }
}
