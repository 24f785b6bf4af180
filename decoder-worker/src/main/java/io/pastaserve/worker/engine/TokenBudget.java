package io.pastaserve.worker.engine;

/**
 * The tokens the model may still choose for one request, all spans together: its {@code max_tokens}. A token counts
 * when a span chooses it (sampled, or forced by a replay or a resume), end of sequence and the tags the model writes
 * included; the tokens the engine feeds on its own (a fork's opener, a closer it adds, the prompt) are not chosen and
 * do not count. The request's reported completion tokens are the same count, so usage never exceeds the budget.
 * Owned by the scheduler thread.
 */
final class TokenBudget {

  private final long limit;
  private long spent;

  TokenBudget(long limit) {
    this.limit = limit;
  }

  /** Whether another token may be chosen; checked before a span chooses, so no span of the step goes past it. */
  boolean hasRoom() {
    return spent < limit;
  }

  /** Counts one chosen token. */
  void spend() {
    if (spent >= limit) {
      throw new IllegalStateException("token budget of " + limit + " already spent");
    }
    spent++;
  }

  /** Counts {@code n} tokens chosen elsewhere (known tokens this engine does not decode again). */
  void spend(long n) {
    if (n < 0 || spent + n > limit) {
      throw new IllegalStateException(n + " more tokens do not fit a budget of " + limit + " with " + spent
          + " spent");
    }
    spent += n;
  }

  /** Tokens chosen so far. */
  long spent() {
    return spent;
  }
}
