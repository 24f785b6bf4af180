package io.pastaserve.worker.engine;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.function.Predicate;

/**
 * The queue of requests waiting to run, in arrival order, and the rule that admits them: the first one is admitted
 * when its cache reservation fits beside the running requests' ({@link KvReservation}) and the batch has a row for
 * it; the ones behind it wait their turn. Owned by the scheduler thread: it alone adds, admits and removes.
 */
final class Admission {

  private final Deque<RequestState> waiting = new ArrayDeque<>();
  private final KvReservation kv;
  private final int maxBatch;

  Admission(KvReservation kv, int maxBatch) {
    this.kv = kv;
    this.maxBatch = maxBatch;
  }

  void add(RequestState r) {
    waiting.add(r);
  }

  /**
   * The first waiting request, taken off the queue, if it may run beside {@code running}; null (nothing taken) if it
   * must wait or none waits.
   */
  RequestState next(List<RequestState> running) {
    RequestState r = waiting.peek();
    if (r == null) {
      return null;
    }
    int busy = (int) running.stream().flatMap(x -> x.spans.stream()).filter(SpanState::runnable).count();
    // what admitted requests may still grow to, not what they hold now: a request admitted a step ago holds
    // no cache yet, and counting only current use would let a burst in all at once
    if (!kv.admits(r, running) || busy >= maxBatch) {
      return null;
    }
    return waiting.poll();
  }

  /** Takes the waiting requests that match {@code which} off the queue. */
  List<RequestState> remove(Predicate<RequestState> which) {
    List<RequestState> removed = new ArrayList<>();
    waiting.removeIf(r -> {
      if (which.test(r)) {
        removed.add(r);
        return true;
      }
      return false;
    });
    return removed;
  }

  /** Takes every waiting request off the queue. */
  List<RequestState> drain() {
    List<RequestState> all = new ArrayList<>(waiting);
    waiting.clear();
    return all;
  }

  int size() {
    return waiting.size();
  }

  boolean isEmpty() {
    return waiting.isEmpty();
  }
}
