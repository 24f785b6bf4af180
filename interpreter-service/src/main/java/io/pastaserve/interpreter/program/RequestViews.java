package io.pastaserve.interpreter.program;

import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The {@link RequestView}s an interpreter instance holds, one per request whose events it applies, and the locks that
 * serialize the calls for one request (span events and cancellations arrive on different consumer threads). Whoever
 * ends a request removes its view; the views of a partition that moves are dropped, so that nothing is kept for a
 * request whose events now go elsewhere.
 */
final class RequestViews {

  private final Map<String, RequestView> views = new ConcurrentHashMap<>();
  private final Object[] locks = new Object[64];

  RequestViews() {
    for (int i = 0; i < locks.length; i++) {
      locks[i] = new Object();
    }
  }

  /** The lock to hold while calling for {@code requestId}. */
  Object lock(String requestId) {
    return locks[Math.floorMod(requestId.hashCode(), locks.length)];
  }

  RequestView get(String id) {
    return views.get(id);
  }

  void put(RequestView view) {
    views.put(view.id, view);
  }

  void remove(String id) {
    views.remove(id);
  }

  /** Drops the views of requests whose events come on {@code partitions}, or on a partition not known; how many. */
  int removePartitions(Collection<Integer> partitions) {
    int dropped = 0;
    for (RequestView view : snapshot()) {
      if (view.partition < 0 || partitions.contains(view.partition)) {
        // under the request's lock: a consumer thread applying an event of it finishes first
        synchronized (lock(view.id)) {
          dropped += views.remove(view.id, view) ? 1 : 0;
        }
      }
    }
    return dropped;
  }

  List<RequestView> snapshot() {
    return List.copyOf(views.values());
  }

  int size() {
    return views.size();
  }
}
