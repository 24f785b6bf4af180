package io.pastaserve.gateway.workers;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.pastaserve.common.messaging.RedisKeys;
import io.pastaserve.common.messaging.WorkerHeartbeat;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.data.redis.core.ReactiveStringRedisTemplate;
import org.springframework.data.redis.core.ScanOptions;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * The live decoder workers, refreshed from their heartbeat keys every {@code refresh}: a worker's key expires
 * when it stops beating, so a dead worker leaves this view within its heartbeat expiry plus one refresh. While
 * Redis cannot be read the last view is kept for {@code staleAfter}, then the view is empty (no worker known).
 */
public final class WorkerRegistry implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(WorkerRegistry.class);

  private final ReactiveStringRedisTemplate redis;
  private final ObjectMapper json;
  private final Duration staleAfter;
  private final Disposable refresher;
  private volatile List<WorkerHeartbeat> live = List.of();
  private volatile long refreshedAt = System.nanoTime();

  public WorkerRegistry(ReactiveStringRedisTemplate redis, ObjectMapper json, Duration refresh, Duration staleAfter) {
    this.redis = redis;
    this.json = json;
    this.staleAfter = staleAfter;
    this.refresher = Flux.interval(Duration.ZERO, refresh)
        .onBackpressureDrop()
        .concatMap(t -> scan().doOnNext(list -> {
          live = list;
          refreshedAt = System.nanoTime();
        }).onErrorResume(e -> {
          log.debug("cannot read worker heartbeats: {}", e.getMessage());
          return Mono.empty();
        }), 1)
        .subscribe();
  }

  private Mono<List<WorkerHeartbeat>> scan() {
    return redis.scan(ScanOptions.scanOptions().match(RedisKeys.WORKERS_PATTERN).count(500).build())
        .collectList()
        .flatMap(keys -> keys.isEmpty() ? Mono.just(List.<String>of())
            : redis.opsForValue().multiGet(keys).map(values -> values.stream().filter(v -> v != null).toList()))
        .map(values -> {
          List<WorkerHeartbeat> out = new ArrayList<>();
          for (String v : values) {
            try {
              out.add(json.readValue(v, WorkerHeartbeat.class));
            } catch (Exception e) {
              log.debug("unreadable heartbeat: {}", e.getMessage());
            }
          }
          return List.copyOf(out);
        });
  }

  /** Live workers (those whose heartbeat has not expired), all models. */
  public List<WorkerHeartbeat> live() {
    if (System.nanoTime() - refreshedAt > staleAfter.toNanos()) {
      return List.of();
    }
    return live;
  }

  /** Live workers that serve {@code model}. */
  public List<WorkerHeartbeat> serving(String model) {
    return live().stream().filter(w -> w.model().equals(model)).toList();
  }

  @Override
  public void close() {
    refresher.dispose();
  }
}
