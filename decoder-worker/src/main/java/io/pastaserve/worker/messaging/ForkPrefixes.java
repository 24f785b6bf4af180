package io.pastaserve.worker.messaging;

import io.pastaserve.common.messaging.ForkJob;
import io.pastaserve.common.messaging.RedisKeys;
import io.pastaserve.worker.engine.ForkPrefix;
import io.pastaserve.worker.engine.ForkPrefixKv;
import io.pastaserve.worker.engine.RemoteFork;
import io.pastaserve.worker.kv.KvSnapshot;
import io.pastaserve.worker.prefix.PrefixKvStore;
import java.time.Duration;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.data.redis.core.StringRedisTemplate;

/**
 * The prefix of a fork placed on another worker ({@code pasta.worker.fork-prefix}), both ways. Out: with
 * {@link ForkPrefix#KV} the parent's cache the engine took at the promise goes to Redis ({@link PrefixKvStore}, under
 * {@link RedisKeys#prefixKv}) and the fork's job names it; over {@code fork-prefix-max-bytes}, or with Redis away, the
 * job carries the token ids alone. In: the cache a job names is read back for the engine, which restores it; when it
 * is gone (expired, or taken back once the fork came home) the fork is rebuilt from the token ids. Blocking (Redis
 * round trips): never on the engine's thread.
 */
final class ForkPrefixes {

  private static final Logger log = LoggerFactory.getLogger(ForkPrefixes.class);
  private static final int CHUNK_BYTES = 1 << 20;

  private final PrefixKvStore store;

  /**
   * @param ttl how long a fork's cache stays in Redis at most (it is deleted once the fork is back)
   */
  ForkPrefixes(StringRedisTemplate redis, long maxBytes, Duration ttl) {
    this.store = new PrefixKvStore(redis, CHUNK_BYTES, maxBytes, ttl);
  }

  /** The job's fork part: the token ids, and the parent's cache put in Redis when the engine took it. */
  ForkJob jobOf(RemoteFork fork) {
    ForkJob ids = new ForkJob(fork.tokensBySpan(), fork.forksBySpan());
    if (fork.prefixKv().isEmpty()) {
      return ids;
    }
    ForkPrefixKv prefix = fork.prefixKv().get();
    String key = RedisKeys.prefixKv(fork.request().id(), fork.span(), prefix.kv().columns());
    try {
      if (!store.put(key, prefix.kv())) {
        log.debug("request {}: fork {}'s prefix cache is over the cap; it goes as token ids", fork.request().id(),
            fork.span());
        return ids;
      }
    } catch (RuntimeException e) {
      log.debug("request {}: fork {}'s prefix cache cannot be put in Redis ({}); it goes as token ids",
          fork.request().id(), fork.span(), e.getMessage());
      return ids;
    }
    return new ForkJob(fork.tokensBySpan(), fork.forksBySpan(),
        new ForkJob.PrefixKv(key, prefix.tokens(), prefix.positions(), prefix.shared()));
  }

  /** The parent's cache a fork's job names, when it is still in Redis. */
  Optional<ForkPrefixKv> prefixOf(ForkJob job) {
    ForkJob.PrefixKv named = job.prefixKv();
    if (named == null || named.tokens().isEmpty()) {
      return Optional.empty();
    }
    try {
      Optional<KvSnapshot> kv = store.get(named.key());
      return kv.map(k -> new ForkPrefixKv(k, named.tokens(), named.positions(), named.shared()));
    } catch (RuntimeException e) {
      log.debug("the prefix cache {} cannot be read ({}); the fork is rebuilt from its token ids", named.key(),
          e.getMessage());
      return Optional.empty();
    }
  }

  /** Takes the cache a fork's job named out of Redis (the fork is back, or its request ended). */
  void forget(String key) {
    try {
      store.delete(key);
    } catch (RuntimeException e) {
      log.debug("the prefix cache {} stays until it expires: {}", key, e.getMessage());
    }
  }
}
