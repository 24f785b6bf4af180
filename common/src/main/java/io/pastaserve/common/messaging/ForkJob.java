package io.pastaserve.common.messaging;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * What a span job for one fork carries besides the request ({@link DecodeSpanCommand#fork}): the request's tokens so
 * far, by span id path, and the indices of those that started forks, as the worker running the request knows them.
 * They rebuild the fork's prefix on the worker that decodes it. A job may also name the fork's prefix cache in Redis
 * ({@link PrefixKv}): the worker that decodes it may start from that instead, and falls back to the token ids when
 * the cache is gone or does not fit its model. A job without it (older workers, or the setting off) carries the
 * token ids alone.
 *
 * @param tokensBySpan every span's token ids so far (a span that ended without a closer ends with end of sequence)
 * @param forksBySpan per span, the index of each of its tokens that started a fork, once per fork
 * @param prefixKv where the fork's prefix cache is, and the tokens fed on top of it; null (absent in JSON): none
 */
public record ForkJob(Map<String, List<Integer>> tokensBySpan, Map<String, List<Integer>> forksBySpan,
    @JsonInclude(JsonInclude.Include.NON_NULL) PrefixKv prefixKv) {

  public ForkJob {
    tokensBySpan = tokensBySpan == null ? Map.of() : Map.copyOf(tokensBySpan);
    forksBySpan = forksBySpan == null ? Map.of() : Map.copyOf(forksBySpan);
  }

  /** A job whose fork rebuilds its prefix from the token ids alone. */
  public ForkJob(Map<String, List<Integer>> tokensBySpan, Map<String, List<Integer>> forksBySpan) {
    this(tokensBySpan, forksBySpan, null);
  }

  /**
   * A fork's prefix as its parent's cache held it at the promise: the columns, stored under {@code key}
   * ({@link RedisKeys#prefixKv}, a KV snapshot as the worker's prefix store writes it, with a time to live), then
   * the tokens the fork feeds on top of them before it chooses its first own token.
   *
   * @param key the Redis key of the columns
   * @param tokens the tokens fed after the columns: the parent's not yet in its cache, then the fork's opener
   * @param positions the position of each of {@code tokens}
   * @param shared how many of {@code tokens} are the parent's
   */
  public record PrefixKv(String key, List<Integer> tokens, List<Integer> positions, int shared) {

    public PrefixKv {
      Objects.requireNonNull(key, "key");
      tokens = tokens == null ? List.of() : List.copyOf(tokens);
      positions = positions == null ? List.of() : List.copyOf(positions);
    }
  }
}
