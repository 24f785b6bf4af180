package io.pastaserve.worker.messaging;

import io.pastaserve.common.messaging.RedisKeys;
import io.pastaserve.common.messaging.RequestOwner;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Predicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.data.redis.core.StringRedisTemplate;
import org.springframework.data.redis.core.script.RedisScript;
import org.springframework.kafka.core.KafkaTemplate;

/**
 * Requests this worker gives up while they still run — their span events could not be sent in time — and hands to
 * other workers: the lease is released and the job sent again, and whichever worker takes it resumes the request
 * from what the interpreter recorded. Tried again until the broker takes the job; a request that ended meanwhile, or
 * that another worker took, is forgotten. Releasing the lease also records when the job is dispatched, in the same
 * step: the interpreter's watchdog counts the claim bound from then, and would otherwise take the job, unclaimed for
 * a moment, for one lost long ago and send a second copy. Thread-safe.
 */
final class RequestHandover {

  private static final Logger log = LoggerFactory.getLogger(RequestHandover.class);

  /**
   * Releases a running request owned here or by nobody, and records that its job is dispatched now: 1 when done, 0
   * when another worker owns it or it no longer runs. Called with a {@link HandOut}'s keys and arguments.
   */
  private static final RedisScript<Long> HAND_OUT = RedisScript.of("""
      -- KEYS[1] request: the request hash
      -- ARGV[1] worker: this worker's id; ARGV[2] now: epoch ms
      local request = KEYS[1]
      local worker, now = ARGV[1], ARGV[2]
      if redis.call('HGET', request, 'status') ~= 'running' then return 0 end
      local owner = redis.call('HGET', request, '%1$s') or ''
      if owner ~= '' and owner ~= worker then return 0 end
      redis.call('HSET', request, '%1$s', '', 'dispatched', now)
      return 1
      """.formatted(RequestOwner.FIELD), Long.class);

  /**
   * One call of {@link #HAND_OUT}.
   *
   * @param requestId the request
   * @param worker this worker's id
   * @param nowMillis now (epoch ms): when the job is dispatched again
   */
  private record HandOut(String requestId, String worker, long nowMillis) {

    List<String> keys() {
      return List.of(RedisKeys.request(requestId));
    }

    Object[] argv() {
      return new Object[] {worker, Long.toString(nowMillis)};
    }
  }

  private final RequestLeases leases;
  private final StringRedisTemplate redis;
  private final KafkaTemplate<String, String> kafka;
  private final String jobsTopic;
  /** Requests to hand over: request id → job as received. */
  private final Map<String, String> waiting = new ConcurrentHashMap<>();
  /** Of {@link #waiting}, those whose job is being sent now. */
  private final Set<String> sending = ConcurrentHashMap.newKeySet();

  RequestHandover(RequestLeases leases, StringRedisTemplate redis, KafkaTemplate<String, String> kafka,
      String jobsTopic) {
    this.leases = leases;
    this.redis = redis;
    this.kafka = kafka;
    this.jobsTopic = jobsTopic;
  }

  /** Hands {@code id} over at the next {@link #attempt}. */
  void add(String id, String job) {
    waiting.put(id, job);
  }

  /**
   * One attempt for each request waiting here that the engine no longer runs here ({@code runningHere}): not
   * before, or a copy of the job that came back to this worker would be dropped as a job of a request running here,
   * and the request left with an owner that does not run it. The lease is released (or was left unowned by an
   * attempt whose send failed) and the job sent. Reads Redis; a failure of Redis is thrown, to be tried again.
   */
  void attempt(Predicate<String> runningHere) {
    for (Map.Entry<String, String> entry : Map.copyOf(waiting).entrySet()) {
      String id = entry.getKey();
      if (runningHere.test(id) || !sending.add(id)) {
        continue;
      }
      try {
        HandOut call = new HandOut(id, leases.workerId(), System.currentTimeMillis());
        Long handedOut = redis.execute(HAND_OUT, call.keys(), call.argv());
        if (handedOut == null || handedOut != 1) {
          waiting.remove(id);
          sending.remove(id);
          continue;
        }
        kafka.send(jobsTopic, id, entry.getValue()).whenComplete((result, error) -> {
          sending.remove(id);
          if (error == null) {
            waiting.remove(id);
            log.info("request {}: handed to another worker", id);
          } else {
            log.debug("request {}: cannot send its job yet ({})", id, error.getMessage());
          }
        });
      } catch (RuntimeException e) {
        sending.remove(id);
        throw e;
      }
    }
  }
}
