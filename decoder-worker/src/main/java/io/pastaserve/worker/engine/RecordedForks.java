package io.pastaserve.worker.engine;

/**
 * Where a resumed span's known promises forked when the span first decoded them: the indices of its tokens that
 * started forks, once per fork, in order. A known promise forks again exactly where it forked then and runs inline
 * everywhere else, so the spans it makes, their ids and the text are the ones recorded, whatever room the cache
 * budget has now. Owned by the scheduler thread.
 */
final class RecordedForks {

  private final int[] at;
  private int next;

  /** {@code at}: the indices of the span's tokens that started forks, ascending, one entry per fork. */
  RecordedForks(int[] at) {
    this.at = at.clone();
  }

  /** Whether a promise completed by the span's token {@code index} forked; each recorded fork answers once. */
  boolean forked(int index) {
    while (next < at.length && at[next] < index) {
      next++;
    }
    if (next < at.length && at[next] == index) {
      next++;
      return true;
    }
    return false;
  }
}
