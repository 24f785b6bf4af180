package io.pastaserve.gateway.generation;

import io.github.resilience4j.bulkhead.Bulkhead;
import io.github.resilience4j.ratelimiter.RateLimiter;
import io.github.resilience4j.ratelimiter.RateLimiterConfig;
import io.github.resilience4j.ratelimiter.RateLimiterRegistry;
import io.github.resilience4j.ratelimiter.internal.AtomicRateLimiter;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Who may start a request now, in two steps: a rate limiter per API key, checked from the request's headers
 * before its body is read ({@link #checkRate}), then this instance's bulkhead, a bounded number of requests
 * running at once ({@link #admit}). Neither waits: a request beyond either is refused at once with 429 and a
 * {@code Retry-After}, so admitted requests keep their latency under overload.
 */
public final class Admission {

  private final Bulkhead bulkhead;
  private final RateLimiterRegistry limiters;
  private final RateLimiterConfig limiterConfig;
  private final Duration retryAfter;

  /**
   * @param limiterConfig the per-key limit, or null for none
   */
  public Admission(Bulkhead bulkhead, RateLimiterRegistry limiters, RateLimiterConfig limiterConfig,
      Duration retryAfter) {
    this.bulkhead = bulkhead;
    this.limiters = limiters;
    this.limiterConfig = limiterConfig;
    this.retryAfter = retryAfter;
  }

  /** A permit to run one request; release it exactly once when the request ends, however it ends. */
  public interface Permit {
    void release();
  }

  /**
   * Spends one of the key's requests for the period, or fails with a {@link GenerationException} (429) saying
   * when the next one is due. Every request that may start or read a generation spends one, whatever its body.
   */
  public void checkRate(String keyName) {
    if (limiterConfig == null) {
      return;
    }
    RateLimiter limiter = limiters.rateLimiter("api-" + keyName, limiterConfig);
    if (!limiter.acquirePermission()) {
      Duration wait = limiter instanceof AtomicRateLimiter atomic
          ? Duration.ofNanos(atomic.getDetailedMetrics().getNanosToWait())
          : limiterConfig.getLimitRefreshPeriod();
      throw new GenerationException(GenerationException.Kind.RATE_LIMITED,
          "this API key may start " + limiterConfig.getLimitForPeriod() + " requests per "
              + limiterConfig.getLimitRefreshPeriod().toMillis() + " ms; try again later", wait);
    }
  }

  /** A place in the bulkhead, or a {@link GenerationException} (429) when every place is taken. */
  public Permit admit() {
    if (!bulkhead.tryAcquirePermission()) {
      throw new GenerationException(GenerationException.Kind.QUEUE_FULL,
          "the server is at capacity (" + bulkhead.getBulkheadConfig().getMaxConcurrentCalls()
              + " requests running); try again later", retryAfter);
    }
    AtomicBoolean released = new AtomicBoolean();
    return () -> {
      if (released.compareAndSet(false, true)) {
        bulkhead.onComplete();
      }
    };
  }

  /** Requests running on this instance now (generations, detached ones included, and readers). */
  public int running() {
    return bulkhead.getBulkheadConfig().getMaxConcurrentCalls() - bulkhead.getMetrics().getAvailableConcurrentCalls();
  }
}
