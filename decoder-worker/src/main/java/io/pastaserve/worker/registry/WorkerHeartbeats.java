package io.pastaserve.worker.registry;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.pastaserve.common.messaging.RedisKeys;
import io.pastaserve.common.messaging.WorkerHeartbeat;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.data.redis.core.StringRedisTemplate;

/**
 * Writes this worker's {@link WorkerHeartbeat} to Redis every {@code interval}, with an expiry of three intervals:
 * a worker that dies disappears from the gateways' view within that time; one that stops cleanly deletes its key.
 * A failed write (Redis away) is logged and retried at the next beat.
 */
public final class WorkerHeartbeats implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(WorkerHeartbeats.class);

  private final StringRedisTemplate redis;
  private final String id;
  private final String key;
  private final String value;
  private final Duration ttl;
  private final ScheduledExecutorService timer;
  private volatile boolean failing;

  public WorkerHeartbeats(StringRedisTemplate redis, ObjectMapper json, String model, int maxContext,
      String provider, Duration interval) {
    this.redis = redis;
    String host = hostName();
    this.id = host + "-" + ProcessHandle.current().pid() + "-" + UUID.randomUUID().toString().substring(0, 8);
    this.key = RedisKeys.worker(id);
    try {
      this.value = json.writeValueAsString(new WorkerHeartbeat(WorkerHeartbeat.VERSION, id, model, maxContext,
          provider, host));
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
    this.ttl = interval.multipliedBy(3);
    this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "worker-heartbeat");
      t.setDaemon(true);
      return t;
    });
    timer.scheduleWithFixedDelay(this::beat, 0, interval.toMillis(), TimeUnit.MILLISECONDS);
    log.info("worker {} serves model '{}' (context {} tokens, provider {})", id, model, maxContext, provider);
  }

  /** This worker's id: unique per process, the owner recorded on the requests it runs. */
  public String id() {
    return id;
  }

  /**
   * Whether worker {@code workerId}'s heartbeat is in Redis: a worker without one is gone (it died, or stopped), and
   * what it held — a request's lease, a fork's claim — may be taken over.
   */
  public static boolean beating(StringRedisTemplate redis, String workerId) {
    return Boolean.TRUE.equals(redis.hasKey(RedisKeys.worker(workerId)));
  }

  private void beat() {
    try {
      redis.opsForValue().set(key, value, ttl);
      if (failing) {
        log.info("heartbeat written again");
        failing = false;
      }
    } catch (RuntimeException e) {
      if (!failing) {
        log.warn("cannot write the heartbeat to Redis: {}", e.getMessage());
        failing = true;
      }
    }
  }

  /** Stops beating and deletes the key: gateways stop counting this worker at once. */
  @Override
  public void close() {
    timer.shutdownNow();
    try {
      redis.delete(key);
    } catch (RuntimeException e) {
      log.debug("cannot delete the heartbeat: {}", e.getMessage());
    }
  }

  private static String hostName() {
    String env = System.getenv("HOSTNAME");
    if (env != null && !env.isBlank()) {
      return env;
    }
    try {
      return InetAddress.getLocalHost().getHostName();
    } catch (UnknownHostException e) {
      return "worker";
    }
  }
}
