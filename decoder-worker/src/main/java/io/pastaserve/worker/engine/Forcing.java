package io.pastaserve.worker.engine;

import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/** Tokens a request is made to decode instead of choosing them. The model still runs on every one. */
public sealed interface Forcing {

  /**
   * Replays a flat transcript (benchmarks): every span decodes exactly its part of the transcript, then ends.
   */
  record Replay(String transcript) implements Forcing {
    public Replay {
      Objects.requireNonNull(transcript, "transcript");
    }
  }

  /**
   * Resumes a request from token ids (another worker decoded them, or the cache was lost): each span first
   * decodes its known tokens, by span id path, then goes on choosing tokens. The cache is rebuilt with the
   * visibility each token had, so the continuation is the same as if it had never stopped.
   *
   * <p>{@code forksBySpan} says, per span id path, which of its known tokens started forks: the index of each such
   * token, once per fork it started. A known promise forks exactly where it forked before and runs inline
   * everywhere else, whatever room the cache budget has now; without it (empty: nothing was recorded) a known
   * promise forks when the budget lets it, which gives the same answer only if the budget does not decide.
   */
  record Resume(Map<String, List<Integer>> tokensBySpan, Optional<Map<String, List<Integer>>> forksBySpan)
      implements Forcing {
    public Resume {
      tokensBySpan = Map.copyOf(tokensBySpan);
      forksBySpan = forksBySpan.map(Map::copyOf);
    }

    /** Resumes from token ids alone: each known promise forks when the cache budget lets it. */
    public Resume(Map<String, List<Integer>> tokensBySpan) {
      this(tokensBySpan, Optional.empty());
    }
  }

  /**
   * Decodes span {@code span} of a request another engine runs ({@link RemoteFork}): every span first decodes its
   * known tokens, as in a {@link Resume}, which rebuilds {@code span}'s prefix; then {@code span} (and the forks it
   * starts) goes on choosing tokens, and every other span stops where its known tokens end. The request is done
   * when {@code span} is.
   *
   * <p>With {@code prefixKv} the engine starts {@code span} from its parent's cache instead ({@link ForkPrefixKv}):
   * it restores the columns, feeds the tokens on top of them and the span's own known tokens, and goes on choosing;
   * no other span runs. It falls back to the known tokens when the cache does not fit this model
   * ({@link ForkPrefixKv#fits}), when the request has stop strings (they look at the whole answer, which the other
   * spans' tokens write), or when the other spans' known tokens already spend the request's token budget.
   */
  record Fork(Map<String, List<Integer>> tokensBySpan, Map<String, List<Integer>> forksBySpan, String span,
      Optional<ForkPrefixKv> prefixKv) implements Forcing {
    public Fork {
      tokensBySpan = Map.copyOf(tokensBySpan);
      forksBySpan = Map.copyOf(forksBySpan);
      Objects.requireNonNull(span, "span");
      Objects.requireNonNull(prefixKv, "prefixKv");
    }

    /** Rebuilds the prefix from the known tokens alone. */
    public Fork(Map<String, List<Integer>> tokensBySpan, Map<String, List<Integer>> forksBySpan, String span) {
      this(tokensBySpan, forksBySpan, span, Optional.empty());
    }
  }
}
