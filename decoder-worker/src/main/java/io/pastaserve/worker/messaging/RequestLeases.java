package io.pastaserve.worker.messaging;

import io.pastaserve.common.messaging.RedisKeys;
import io.pastaserve.common.messaging.RequestOwner;
import io.pastaserve.worker.registry.WorkerHeartbeats;
import java.util.List;
import org.springframework.data.redis.core.StringRedisTemplate;
import org.springframework.data.redis.core.script.RedisScript;

/**
 * Which worker runs a request: the {@code worker} field of the request's hash. A worker claims a request before it
 * runs it, and may take it from a worker whose heartbeat has gone; the interpreter hands the request of a gone worker
 * out again (see {@code docs/architecture.md}, "Failover"). Claims are compare-and-set, so of two workers that get
 * the same job one runs it.
 */
final class RequestLeases {

  /** What a claim found. */
  enum Claim {
    /** This worker runs the request now. */
    TAKEN,
    /** A live worker runs it: this copy of the job is dropped. */
    OWNED_ELSEWHERE,
    /** The request has ended: nothing to run. */
    ENDED,
    /**
     * Redis knows nothing of the request (it restarted without persistence, or the state expired): it cannot run,
     * and nobody else will end it.
     */
    LOST
  }

  private static final RedisScript<Long> SWAP = RedisScript.of(RequestOwner.SWAP_SCRIPT, Long.class);

  private final StringRedisTemplate redis;
  private final String workerId;

  RequestLeases(StringRedisTemplate redis, String workerId) {
    this.redis = redis;
    this.workerId = workerId;
  }

  String workerId() {
    return workerId;
  }

  /**
   * Claims a request for this worker: unowned, owned here, or owned by a worker whose heartbeat is gone. Writes
   * nothing when the request's hash is gone, so a vanished request is never recreated (without an expiry).
   */
  Claim claim(String requestId) {
    Owner owner = owner(requestId);
    if (owner.lost()) {
      return Claim.LOST;
    }
    if (!owner.running()) {
      return Claim.ENDED;
    }
    if (owner.worker().equals(workerId)) {
      return Claim.TAKEN;
    }
    if (!owner.worker().isEmpty() && WorkerHeartbeats.beating(redis, owner.worker())) {
      return Claim.OWNED_ELSEWHERE;
    }
    long swapped = swap(requestId, owner.worker(), workerId);
    if (swapped < 0) {
      // it ended, or its state went, between the read and the swap
      return owner(requestId).lost() ? Claim.LOST : Claim.ENDED;
    }
    return swapped > 0 ? Claim.TAKEN : Claim.OWNED_ELSEWHERE;
  }

  /** Gives a request this worker runs back (it stops here); true when it was still this worker's. */
  boolean release(String requestId) {
    return swap(requestId, workerId, "") > 0;
  }

  /** The request's status and owner as Redis has them now. */
  Owner owner(String requestId) {
    List<Object> fields = redis.opsForHash().multiGet(RedisKeys.request(requestId),
        List.of("status", RequestOwner.FIELD));
    return new Owner(fields.get(0) == null ? "" : (String) fields.get(0),
        fields.get(1) == null ? "" : (String) fields.get(1));
  }

  private long swap(String requestId, String from, String to) {
    RequestOwner.Swap call = new RequestOwner.Swap(requestId, from, to);
    Long result = redis.execute(SWAP, call.keys(), call.argv());
    return result == null ? 0 : result;
  }

  /** A request's status ("running", "finished", or "" when its state is gone) and owner ("" when none). */
  record Owner(String status, String worker) {

    boolean running() {
      return "running".equals(status);
    }

    boolean finished() {
      return "finished".equals(status);
    }

    /** No status at all: Redis lost the request (an interpreter records one before it dispatches the job). */
    boolean lost() {
      return status.isEmpty();
    }
  }
}
