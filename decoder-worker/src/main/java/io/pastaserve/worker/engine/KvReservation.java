package io.pastaserve.worker.engine;

import java.util.List;

/**
 * The engine's cache budget, in tokens, and what each running request has reserved of it. A request reserves its
 * prompt plus the tokens it may choose when it is admitted; each fork it starts reserves its copy of the parent's
 * prefix (every span holds its whole past, so a fork holds the prefix once more) plus the opener and closer the
 * engine feeds it, and gives the prefix back when it is joined; a promise run inline reserves its opener. A fork or
 * an inline opener that would take the running requests past the budget is refused, so the cache the engine holds
 * never exceeds the budget (one request larger than the whole budget still runs, alone). Owned by the scheduler
 * thread.
 */
final class KvReservation {

  private final long budget;

  KvReservation(long budget) {
    this.budget = budget;
  }

  /** What {@code r} counts against the budget: its reservation, or what it holds if that is more. */
  static long committed(RequestState r) {
    long held = 0;
    for (SpanState s : r.spans) {
      held += s.kv.length();
    }
    return Math.max(r.kvReserved, held);
  }

  /** Cache tokens the spans of {@code running} hold now. */
  static long held(List<RequestState> running) {
    long n = 0;
    for (RequestState r : running) {
      for (SpanState s : r.spans) {
        n += s.kv.length();
      }
    }
    return n;
  }

  /** What the running requests count against the budget together. */
  static long committed(List<RequestState> running) {
    long total = 0;
    for (RequestState r : running) {
      total += committed(r);
    }
    return total;
  }

  /** Whether {@code r} may be admitted beside {@code running}: its reservation fits, or nothing else runs. */
  boolean admits(RequestState r, List<RequestState> running) {
    return running.isEmpty() || committed(running) + r.kvReserved <= budget;
  }

  /**
   * Reserves {@code tokens} more for {@code r} if the running requests stay within the budget; false (nothing
   * reserved) if they would not.
   */
  boolean tryReserve(RequestState r, long tokens, List<RequestState> running) {
    boolean aloneOverBudget = running.size() == 1 && r.kvReserved >= budget;
    if (committed(running) + tokens > budget && !aloneOverBudget) {
      return false;
    }
    r.kvReserved += tokens;
    return true;
  }

  /** Reserves {@code tokens} more for {@code r} whatever the budget (what its forced tokens already decided). */
  void reserve(RequestState r, long tokens) {
    r.kvReserved += tokens;
  }

  /** Gives back {@code tokens} of {@code r}'s reservation (a joined fork's copy of its parent's prefix). */
  void release(RequestState r, long tokens) {
    r.kvReserved -= tokens;
  }
}
