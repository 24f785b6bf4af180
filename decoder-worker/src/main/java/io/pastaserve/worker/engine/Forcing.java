package io.pastaserve.worker.engine;

import java.util.List;
import java.util.Map;
import java.util.Objects;

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
   */
  record Resume(Map<String, List<Integer>> tokensBySpan) implements Forcing {
    public Resume {
      tokensBySpan = Map.copyOf(tokensBySpan);
    }
  }
}
