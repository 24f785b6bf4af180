package io.pastaserve.interpreter.program;

import io.pastaserve.common.messaging.RedisKeys;
import io.pastaserve.common.messaging.RequestOwner;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.data.redis.core.StringRedisTemplate;
import org.springframework.data.redis.core.script.RedisScript;

/**
 * Hands out again the requests of workers that have gone, and the jobs no worker took. A worker records itself as a
 * running request's owner when it takes the request's job; when that worker's heartbeat has been missing for {@code
 * grace} (it died, or lost Redis for longer than its heartbeat's expiry), the request is released and its job sent
 * again, and the worker that takes it resumes it from the token ids recorded in Redis. A job no worker has claimed
 * {@code claimTimeout} after it was sent (the send failed, or the job was lost on the way) is sent again too. Every
 * interpreter instance runs a watchdog; releasing and re-sending are compare-and-set, so one of them sends the job.
 */
public final class LeaseWatchdog implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(LeaseWatchdog.class);

  private static final RedisScript<Long> SWAP = RedisScript.of(RequestOwner.SWAP_SCRIPT, Long.class);

  /** The owner of a request taken from its worker to be decoded afresh ({@link #redispatch}): never has a heartbeat. */
  static final String REFILL = "interpreter-refill";

  /**
   * Takes the re-sending of a job still unclaimed (1), or leaves it to the instance that took it first (0). Called
   * with a {@link Resend}'s keys and arguments.
   */
  private static final RedisScript<Long> RESEND = RedisScript.of("""
      -- KEYS[1] request: the request hash
      -- ARGV[1] sentAt: when its job was sent, as this instance read it; ARGV[2] now: epoch ms
      local request = KEYS[1]
      local sentAt, now = ARGV[1], ARGV[2]
      if redis.call('HGET', request, 'status') ~= 'running' then return 0 end
      if (redis.call('HGET', request, '%1$s') or '') ~= '' then return 0 end
      if (redis.call('HGET', request, 'dispatched') or '') ~= sentAt then return 0 end
      redis.call('HSET', request, 'dispatched', now)
      return 1
      """.formatted(RequestOwner.FIELD), Long.class);

  /**
   * One call of {@link #RESEND}.
   *
   * @param requestId the request
   * @param sentAt when its job was sent (epoch ms, as read from the request hash)
   * @param nowMillis now (epoch ms)
   */
  private record Resend(String requestId, String sentAt, long nowMillis) {

    List<String> keys() {
      return List.of(RedisKeys.request(requestId));
    }

    Object[] argv() {
      return new Object[] {sentAt, Long.toString(nowMillis)};
    }
  }

  /** Records when a request's job was last sent, if it still runs. Called with a {@link MarkSent}'s. */
  private static final RedisScript<Long> MARK_SENT = RedisScript.of("""
      -- KEYS[1] request: the request hash
      -- ARGV[1] now: epoch ms
      local request = KEYS[1]
      local now = ARGV[1]
      if redis.call('HGET', request, 'status') ~= 'running' then return 0 end
      redis.call('HSET', request, 'dispatched', now)
      return 1
      """, Long.class);

  /**
   * One call of {@link #MARK_SENT}.
   *
   * @param requestId the request
   * @param nowMillis now (epoch ms)
   */
  private record MarkSent(String requestId, long nowMillis) {

    List<String> keys() {
      return List.of(RedisKeys.request(requestId));
    }

    Object[] argv() {
      return new Object[] {Long.toString(nowMillis)};
    }
  }

  private final StringRedisTemplate redis;
  private final Duration grace;
  private final Duration claimTimeout;
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
  private final List<Runnable> alsoEachCheck = new CopyOnWriteArrayList<>();

  /**
   * @param grace how long an owner's heartbeat must stay missing before its requests are handed out again (a
   *     restarted Redis, or one away for a moment, gets the heartbeats back within an interval)
   * @param claimTimeout how long a sent job may stay unclaimed before it is sent again (jobs wait in Kafka while
   *     every worker is full, so this is longer than a request usually waits)
   * @param interval how often running requests are checked
   * @param dispatch sends a request's span job again: (request id, job as JSON)
   */
  public LeaseWatchdog(StringRedisTemplate redis, Duration grace, Duration claimTimeout, Duration interval,
      BiConsumer<String, String> dispatch) {
    this.redis = redis;
    this.grace = grace;
    this.claimTimeout = claimTimeout;
    this.dispatch = dispatch;
    timer.scheduleWithFixedDelay(this::checkQuietly, interval.toMillis(), interval.toMillis(),
        TimeUnit.MILLISECONDS);
  }

  /** Runs {@code task} after each periodic check, on the watchdog's thread. */
  public void alsoEachCheck(Runnable task) {
    alsoEachCheck.add(task);
  }

  private void checkQuietly() {
    try {
      check();
      alsoEachCheck.forEach(Runnable::run);
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
          List.of("status", RequestOwner.FIELD, "job", "dispatched"));
      Object status = fields.get(0);
      if (status == null || "finished".equals(status)) {
        // ended (its owner removes it too) or expired
        redis.opsForZSet().remove(RedisKeys.RUNNING, id);
        continue;
      }
      stillRunning++;
      String owner = fields.get(1) == null ? "" : (String) fields.get(1);
      if (owner.isEmpty()) {
        // waiting in Kafka for a worker, unless its job was lost on the way
        suspects.remove(id);
        if (unclaimedTooLong(id, (String) fields.get(3), (String) fields.get(2))) {
          dispatched++;
        }
        continue;
      }
      if (alive.computeIfAbsent(owner, w -> Boolean.TRUE.equals(redis.hasKey(RedisKeys.worker(w))))) {
        suspects.remove(id);
        continue;
      }
      long since = suspects.computeIfAbsent(id, k -> System.nanoTime());
      if (System.nanoTime() - since < grace.toNanos()) {
        continue;
      }
      suspects.remove(id);
      Long released = swap(new RequestOwner.Swap(id, owner, ""));
      if (released != null && released == 1 && fields.get(2) != null) {
        if (REFILL.equals(owner)) {
          log.info("request {}: its job is sent again, to be decoded afresh", id);
        } else {
          log.warn("request {}: worker {} is gone; its job is sent again", id, owner);
        }
        send(id, (String) fields.get(2));
        dispatched++;
      }
    }
    running = stillRunning;
    return dispatched;
  }

  /** Sends the job of a request no worker claimed within the bound again; true when this instance sent it. */
  private boolean unclaimedTooLong(String id, String sentAt, String job) {
    long now = System.currentTimeMillis();
    if (sentAt == null || job == null || now - Long.parseLong(sentAt) < claimTimeout.toMillis()) {
      return false;
    }
    Resend call = new Resend(id, sentAt, now);
    Long taken = redis.execute(RESEND, call.keys(), call.argv());
    if (taken == null || taken != 1) {
      return false;
    }
    log.warn("request {}: no worker took its job within {}; it is sent again", id, claimTimeout);
    dispatch.accept(id, job);
    return true;
  }

  /**
   * Takes a running request from its worker, whichever it is, so that a worker decodes it afresh: the worker that
   * takes the job then resumes from the tokens recorded in Redis (what fills tokens an interpreter never received).
   * The owner becomes {@link #REFILL}, a worker without a heartbeat: a worker still running the request sees another
   * owner and stops it without finishing (its sweep), and this watchdog's gone-owner path sends the job once
   * {@code grace} has passed — by then the worker has stopped the request, so a copy that reaches it is taken as a
   * new job instead of being dropped as one of a request running there. Returns true when the request was taken.
   */
  public boolean redispatch(String id) {
    List<Object> fields = redis.opsForHash().multiGet(RedisKeys.request(id), List.of(RequestOwner.FIELD, "job"));
    String owner = fields.get(0) == null ? "" : (String) fields.get(0);
    if (fields.get(1) == null || REFILL.equals(owner)) {
      return false;
    }
    Long taken = swap(new RequestOwner.Swap(id, owner, REFILL));
    return taken != null && taken == 1;
  }

  private Long swap(RequestOwner.Swap call) {
    return redis.execute(SWAP, call.keys(), call.argv());
  }

  /** Sends a job, recording when (the claim bound counts from there). */
  private void send(String id, String job) {
    MarkSent call = new MarkSent(id, System.currentTimeMillis());
    redis.execute(MARK_SENT, call.keys(), call.argv());
    dispatch.accept(id, job);
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
