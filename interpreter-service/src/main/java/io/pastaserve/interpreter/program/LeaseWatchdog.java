package io.pastaserve.interpreter.program;

import io.pastaserve.common.messaging.RedisKeys;
import io.pastaserve.common.messaging.RequestOwner;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.data.redis.core.StringRedisTemplate;
import org.springframework.data.redis.core.script.RedisScript;

/**
 * Hands out again the requests of workers that have gone. A worker records itself as a running request's owner when
 * it takes the request's job; when that worker's heartbeat has been missing for {@code grace} (it died, or lost
 * Redis for longer than its heartbeat's expiry), the request is released and its job sent again, and the worker that
 * takes it resumes it from the token ids recorded in Redis. Every interpreter instance runs a watchdog; releasing is
 * compare-and-set, so one of them sends the job.
 */
public final class LeaseWatchdog implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(LeaseWatchdog.class);

  private static final RedisScript<Long> SWAP = RedisScript.of(RequestOwner.SWAP_SCRIPT, Long.class);

  private final StringRedisTemplate redis;
  private final Duration grace;
  private final BiConsumer<String, String> dispatch;
  /** Requests whose owner's heartbeat is missing, with when this instance first saw it missing (nanoTime). */
  private final Map<String, Long> suspects = new ConcurrentHashMap<>();
  private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
    Thread t = new Thread(r, "lease-watchdog");
    t.setDaemon(true);
    return t;
  });
  private volatile boolean failing;
  private volatile int running;

  /**
   * @param grace how long an owner's heartbeat must stay missing before its requests are handed out again (a
   *     restarted Redis, or one away for a moment, gets the heartbeats back within an interval)
   * @param interval how often running requests are checked
   * @param dispatch sends a request's span job again: (request id, job as JSON)
   */
  public LeaseWatchdog(StringRedisTemplate redis, Duration grace, Duration interval,
      BiConsumer<String, String> dispatch) {
    this.redis = redis;
    this.grace = grace;
    this.dispatch = dispatch;
    timer.scheduleWithFixedDelay(this::checkQuietly, interval.toMillis(), interval.toMillis(),
        TimeUnit.MILLISECONDS);
  }

  private void checkQuietly() {
    try {
      check();
      if (failing) {
        log.info("checking running requests again");
        failing = false;
      }
    } catch (RuntimeException e) {
      if (!failing) {
        log.warn("cannot check running requests: {}", e.getMessage());
        failing = true;
      }
    }
  }

  /** One pass over the running requests; returns how many were handed out again. */
  public int check() {
    Set<String> ids = redis.opsForZSet().range(RedisKeys.RUNNING, 0, -1);
    if (ids == null || ids.isEmpty()) {
      suspects.clear();
      running = 0;
      return 0;
    }
    suspects.keySet().retainAll(ids);
    Map<String, Boolean> alive = new HashMap<>();
    int dispatched = 0;
    int stillRunning = 0;
    for (String id : ids) {
      List<Object> fields = redis.opsForHash().multiGet(RedisKeys.request(id),
          List.of("status", RequestOwner.FIELD, "job"));
      Object status = fields.get(0);
      if (status == null || "finished".equals(status)) {
        // ended (its owner removes it too) or expired
        redis.opsForZSet().remove(RedisKeys.RUNNING, id);
        continue;
      }
      stillRunning++;
      String owner = fields.get(1) == null ? "" : (String) fields.get(1);
      if (owner.isEmpty()
          || alive.computeIfAbsent(owner, w -> Boolean.TRUE.equals(redis.hasKey(RedisKeys.worker(w))))) {
        // waiting in Kafka for a worker, or running on a live one
        suspects.remove(id);
        continue;
      }
      long since = suspects.computeIfAbsent(id, k -> System.nanoTime());
      if (System.nanoTime() - since < grace.toNanos()) {
        continue;
      }
      suspects.remove(id);
      Long released = redis.execute(SWAP, List.of(RedisKeys.request(id)), owner, "");
      if (released != null && released == 1 && fields.get(2) != null) {
        log.warn("request {}: worker {} is gone; its job is sent again", id, owner);
        dispatch.accept(id, (String) fields.get(2));
        dispatched++;
      }
    }
    running = stillRunning;
    return dispatched;
  }

  /**
   * Requests running in the whole suite at the last check — waiting in Kafka for a worker or held by one: what the
   * workers' autoscaling aims at.
   */
  public int running() {
    return running;
  }

  @Override
  public void close() {
    timer.shutdownNow();
  }
}
