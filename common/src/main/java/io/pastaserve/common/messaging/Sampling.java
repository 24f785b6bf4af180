package io.pastaserve.common.messaging;

import java.util.List;

/**
 * How a request's tokens are chosen, as it travels between services.
 *
 * @param temperature 0 for greedy
 * @param topP nucleus sampling threshold (1 keeps all)
 * @param topK most likely tokens kept (0 keeps all)
 * @param seed seeds every span's random stream
 * @param maxTokens tokens the whole request may decode
 * @param stop strings that end the answer
 */
public record Sampling(double temperature, double topP, int topK, long seed, int maxTokens, List<String> stop) {

  public Sampling {
    stop = stop == null ? List.of() : List.copyOf(stop);
  }
}
