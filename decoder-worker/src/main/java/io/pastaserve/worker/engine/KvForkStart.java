package io.pastaserve.worker.engine;

import io.pastaserve.common.lang.SpanId;
import io.pastaserve.worker.model.ModelConfig;
import java.util.Map;

/**
 * When a fork decoded for another engine ({@link Forcing.Fork}) may start from its parent's cache
 * ({@link ForkPrefixKv}) instead of rebuilding its prefix from the known tokens, and what the other spans' known
 * tokens cost it then. Either way the fork computes the same tokens: with the cache, the tokens the known path would
 * replay before the fork's own are counted against the request's budget all the same, and nothing else differs.
 */
final class KvForkStart {

  private KvForkStart() {
  }

  /**
   * The prefix cache {@code request} starts from, or null when it rebuilds the prefix from its known tokens
   * ({@code forced}, by span id path): when it carries none, when the cache does not fit {@code model}, when the
   * fork is the main span, when the request has stop strings (they look at the whole answer, which the other spans'
   * tokens write), or when those tokens leave no room in the budget.
   */
  static ForkPrefixKv usable(GenerationRequest request, Map<String, int[]> forced, String focus, ModelConfig model) {
    if (!(request.forcing().orElse(null) instanceof Forcing.Fork fork) || fork.prefixKv().isEmpty()) {
      return null;
    }
    ForkPrefixKv prefix = fork.prefixKv().get();
    boolean usable = prefix.fits(model) && !SpanId.of(focus).isMain() && request.sampling().stop().isEmpty()
        && knownElsewhere(forced, focus) < request.sampling().maxTokens();
    return usable ? prefix : null;
  }

  /**
   * The known tokens of the spans that are neither {@code focus} nor its forks: the ones a rebuild from the known
   * tokens decodes (and counts) besides the fork's own.
   */
  static long knownElsewhere(Map<String, int[]> forced, String focus) {
    long n = 0;
    for (Map.Entry<String, int[]> e : forced.entrySet()) {
      String path = e.getKey();
      if (!path.equals(focus) && !path.startsWith(focus + ".")) {
        n += e.getValue().length;
      }
    }
    return n;
  }
}
