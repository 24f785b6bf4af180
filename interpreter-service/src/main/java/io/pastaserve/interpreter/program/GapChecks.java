package io.pastaserve.interpreter.program;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BiPredicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The bound on a gap ({@link RequestTracker#checkGaps}): a request whose tokens stay missing is sent to the workers
 * again once, then ended with an error. Looks at the views in memory and at the open gaps Redis keeps of requests this
 * instance holds no view of (the view was dropped when its partition moved, or when applying failed): once the worker
 * has finished, nothing else would end them. What to do is decided under each request's lock; the recovery (Kafka
 * sends, which may wait for the broker) runs after the lock is released.
 */
final class GapChecks {

  private static final Logger log = LoggerFactory.getLogger(GapChecks.class);

  private final RequestViews views;
  private final RecordedRequests recorded;
  /** Ends a request with an error; true when this call ended it ({@link RequestTracker#fail}). */
  private final BiPredicate<String, String> fail;

  GapChecks(RequestViews views, RecordedRequests recorded, BiPredicate<String, String> fail) {
    this.views = views;
    this.recorded = recorded;
    this.fail = fail;
  }

  /** One pass; returns how many requests were acted on. */
  int check(Duration bound, RequestTracker.Recovery recovery) {
    adoptHeldGaps(bound);
    List<Runnable> actions = new ArrayList<>();
    long now = System.nanoTime();
    for (RequestView candidate : views.snapshot()) {
      synchronized (views.lock(candidate.id)) {
        RequestView view = views.get(candidate.id);
        if (view == null || view.gapSince == 0 || now - view.gapSince < bound.toNanos()) {
          continue;
        }
        if (!view.redispatched) {
          long marked = recorded.redispatching(view, bound);
          if (marked < 0) {
            // the gap filled on another instance (which reads the request's events now), or the request ended
            log.debug("request {}: its gap is no longer open; the view is dropped", view.id);
            views.remove(view.id);
            continue;
          }
          if (marked == 1) {
            log.warn("request {}: {} still missing; sending it to the workers again", view.id, view.firstGap());
            actions.add(() -> recovery.redispatch(view.id));
          }
          view.redispatched = true;
          view.missing = view.firstGap();
          view.heldFinish = null;
          view.gapSince = now;
        } else if (!recorded.gapKept(view.id)) {
          // the gap filled on another instance (which reads the request's events now), or the request ended
          log.debug("request {}: its gap is no longer open; the view is dropped", view.id);
          views.remove(view.id);
        } else if (fail.test(view.id, "tokens were lost: " + view.firstGap() + " never came")) {
          actions.add(() -> recovery.cancel(view.id));
        }
      }
    }
    actions.forEach(Runnable::run);
    return actions.size();
  }

  /** Takes up the requests whose gap Redis keeps past {@code bound} and of which no view is held here. */
  private void adoptHeldGaps(Duration bound) {
    for (String id : recorded.gapsOlderThan(bound)) {
      synchronized (views.lock(id)) {
        if (views.get(id) != null) {
          continue;
        }
        if (!"running".equals(recorded.status(id))) {
          recorded.forgetGap(id);
          continue;
        }
        log.info("request {}: its gap is open and no view of it is held; taking it up", id);
        views.put(recorded.rebuild(id, -1));
      }
    }
  }
}
