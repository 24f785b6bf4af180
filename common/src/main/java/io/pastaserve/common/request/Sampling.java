package io.pastaserve.common.request;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;

/**
 * How a request's tokens are chosen, and how many it may decode: made once from the API request by the gateway,
 * carried unchanged by the Kafka messages, and used as it is by the worker's sampler. Validated here, once; the
 * gateway applies the API's narrower limits (temperature at most 2, its {@code max_tokens} limit, at most 4 stop
 * strings) before it makes one.
 *
 * @param temperature 0 for greedy; otherwise logits are divided by it ({@code temperature}, 0 to 100)
 * @param topP nucleus sampling: keep the smallest set of tokens whose probability reaches this ({@code top_p},
 *     greater than 0 and at most 1; 1 keeps all)
 * @param topK keep the k most likely tokens ({@code top_k}; 0 keeps all)
 * @param seed seeds every span's random stream (with the span's id); equal seeds give equal text
 * @param maxTokens tokens decoded by the whole request, all spans together ({@code max_tokens}, at least 1)
 * @param stop strings that end the answer (looked for in the answer in final order, every fork's text in its
 *     place; the answer is cut before the first); none empty
 * @throws InvalidSettingException naming the first setting out of its range
 */
public record Sampling(double temperature, double topP, int topK, long seed, int maxTokens, List<String> stop) {

  public Sampling {
    if (!(temperature >= 0 && temperature <= 100)) {
      throw new InvalidSettingException("temperature", "temperature must be between 0 and 100, not "
          + number(temperature));
    }
    if (!(topP > 0 && topP <= 1)) {
      throw new InvalidSettingException("top_p", "top_p must be greater than 0 and at most 1, not " + number(topP));
    }
    if (topK < 0) {
      throw new InvalidSettingException("top_k", "top_k must not be negative, not " + topK);
    }
    if (maxTokens < 1) {
      throw new InvalidSettingException("max_tokens", "max_tokens must be at least 1, not " + maxTokens);
    }
    stop = stop == null ? List.of() : List.copyOf(stop);
    if (stop.stream().anyMatch(String::isEmpty)) {
      throw new InvalidSettingException("stop", "stop strings must not be empty");
    }
  }

  /**
   * The settings a message carries. A message without {@code topP} (or with 0, which no valid request has) keeps all
   * tokens, as workers have always read it.
   */
  @JsonCreator
  static Sampling fromMessage(@JsonProperty("temperature") double temperature, @JsonProperty("topP") double topP,
      @JsonProperty("topK") int topK, @JsonProperty("seed") long seed, @JsonProperty("maxTokens") int maxTokens,
      @JsonProperty("stop") List<String> stop) {
    return new Sampling(temperature, topP == 0 ? 1 : topP, topK, seed, maxTokens, stop);
  }

  /** Greedy decoding of at most {@code maxTokens} tokens, without stop strings. */
  public static Sampling greedy(int maxTokens) {
    return new Sampling(0, 1, 0, 0, maxTokens, List.of());
  }

  /** Whether tokens are chosen greedily (temperature 0); not a field of the message. */
  @JsonIgnore
  public boolean isGreedy() {
    return temperature == 0;
  }

  private static String number(double d) {
    return d == Math.rint(d) && !Double.isInfinite(d) ? Long.toString((long) d) : Double.toString(d);
  }
}
