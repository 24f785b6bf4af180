package io.pastaserve.worker.messaging;

import io.pastaserve.common.messaging.RedisKeys;
import io.pastaserve.worker.registry.WorkerHeartbeats;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.springframework.data.redis.core.StringRedisTemplate;
import org.springframework.data.redis.core.script.RedisScript;

/**
 * Which worker decodes a fork placed on another worker: the claim {@link RedisKeys#forkOwner} holds the decoding
 * worker's id, so that of several copies of a fork's job one is decoded. The claim is given up when the fork has been
 * reported or has failed there (a job of the same fork placed again — by the worker that took the request over from a
 * gone one — is then decoded, not dropped); the worker that placed the fork claims it itself when it takes it back (so
 * that a copy of its job taken later is dropped); its expiry is the backstop. A worker counts as gone when its
 * heartbeat has expired ({@link WorkerHeartbeats#beating}), as for a request's lease.
 */
final class ForkOwners {

  /** Deletes the claim only while it is still {@code ARGV[1]}'s: 1 when deleted. */
  private static final RedisScript<Long> RELEASE = RedisScript.of("""
      if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
      return 0
      """, Long.class);

  private final StringRedisTemplate redis;
  private final String workerId;

  ForkOwners(StringRedisTemplate redis, String workerId) {
    this.redis = redis;
    this.workerId = workerId;
  }

  /** Claims the fork for this worker, for {@code ttl}; false when another worker holds it. */
  boolean claim(String requestId, String span, Duration ttl) {
    return Boolean.TRUE.equals(redis.opsForValue().setIfAbsent(RedisKeys.forkOwner(requestId, span), workerId,
        ttl));
  }

  /** Gives up this worker's claim of the fork (nothing when another worker holds it now). */
  void release(String requestId, String span) {
    giveUp(requestId, span, workerId);
  }

  /** Gives up {@code owner}'s claim of the fork: true when it was {@code owner}'s and is gone now. */
  boolean giveUp(String requestId, String span, String owner) {
    Long deleted = redis.execute(RELEASE, List.of(RedisKeys.forkOwner(requestId, span)), owner);
    return deleted != null && deleted > 0;
  }

  /** The worker that claimed the fork; empty when none has. */
  Optional<String> owner(String requestId, String span) {
    String owner = redis.opsForValue().get(RedisKeys.forkOwner(requestId, span));
    return owner == null || owner.isEmpty() ? Optional.empty() : Optional.of(owner);
  }

  /** Whether {@code owner}, a fork's claimant, is another worker whose heartbeat has gone. */
  boolean gone(String owner) {
    return !owner.equals(workerId) && !WorkerHeartbeats.beating(redis, owner);
  }
}
