package io.pastaserve.common.messaging;

import java.util.List;
import java.util.Map;

/**
 * What a span job for one fork carries besides the request ({@link DecodeSpanCommand#fork}): the request's tokens so
 * far, by span id path, and the indices of those that started forks, as the worker running the request knows them.
 * They rebuild the fork's prefix on the worker that decodes it.
 *
 * @param tokensBySpan every span's token ids so far (a span that ended without a closer ends with end of sequence)
 * @param forksBySpan per span, the index of each of its tokens that started a fork, once per fork
 */
public record ForkJob(Map<String, List<Integer>> tokensBySpan, Map<String, List<Integer>> forksBySpan) {

  public ForkJob {
    tokensBySpan = tokensBySpan == null ? Map.of() : Map.copyOf(tokensBySpan);
    forksBySpan = forksBySpan == null ? Map.of() : Map.copyOf(forksBySpan);
  }
}
