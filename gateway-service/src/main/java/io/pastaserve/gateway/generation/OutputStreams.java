package io.pastaserve.gateway.generation;

import io.pastaserve.common.messaging.RedisKeys;
import io.pastaserve.common.output.OutputCodec;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.data.redis.connection.stream.MapRecord;
import org.springframework.data.redis.connection.stream.ReadOffset;
import org.springframework.data.redis.connection.stream.StreamOffset;
import org.springframework.data.redis.connection.stream.StreamReadOptions;
import org.springframework.data.redis.core.ReactiveStringRedisTemplate;
import org.springframework.data.redis.listener.ChannelTopic;
import org.springframework.data.redis.listener.ReactiveRedisMessageListenerContainer;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;
import reactor.util.retry.Retry;

/**
 * Reads requests' output streams from Redis without blocking and without a connection per reader: the
 * interpreter publishes a request's id on {@link RedisKeys#OUTPUT_READY} whenever that request's stream grows;
 * each notification wakes the reader of that request, which reads everything new with one non-blocking
 * {@code XREAD}. A slow poll backs the notifications up (a notification lost while Redis restarts costs at most
 * one poll interval). Redis errors are logged and retried at the next wake-up; the caller's deadline bounds the
 * wait.
 */
public final class OutputStreams implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(OutputStreams.class);

  private final ReactiveStringRedisTemplate redis;
  private final Duration pollInterval;
  /** The readers of each request (usually one; a client that reconnects adds another). */
  private final Map<String, java.util.List<Sinks.Many<Boolean>>> readers = new ConcurrentHashMap<>();
  private final Disposable subscription;

  public OutputStreams(ReactiveStringRedisTemplate redis, ReactiveRedisMessageListenerContainer container,
      Duration pollInterval) {
    this.redis = redis;
    this.pollInterval = pollInterval;
    this.subscription = Flux.defer(() -> container.receive(ChannelTopic.of(RedisKeys.OUTPUT_READY)))
        .doOnError(e -> log.warn("output notifications interrupted ({}); reconnecting", e.getMessage()))
        .retryWhen(Retry.backoff(Long.MAX_VALUE, Duration.ofMillis(200)).maxBackoff(Duration.ofSeconds(5)))
        .subscribe(message -> {
          java.util.List<Sinks.Many<Boolean>> waiting = readers.get(message.getMessage());
          if (waiting != null) {
            waiting.forEach(reader -> reader.tryEmitNext(Boolean.TRUE));
          }
        });
  }

  /** Requests being read now. */
  public int readers() {
    return readers.size();
  }

  /**
   * The request's output entries after {@code afterId} ({@code 0-0}: from the start), ending with its final entry.
   * Subscribe once; cancelling stops reading.
   */
  public Flux<StreamedEntry> read(String requestId, String afterId) {
    return Flux.defer(() -> {
      Sinks.Many<Boolean> wake = Sinks.many().unicast().onBackpressureBuffer();
      readers.computeIfAbsent(requestId, k -> new java.util.concurrent.CopyOnWriteArrayList<>()).add(wake);
      AtomicReference<String> last = new AtomicReference<>(afterId);
      String key = RedisKeys.output(requestId);
      Flux<Boolean> triggers = Flux.merge(wake.asFlux(), Flux.interval(Duration.ZERO, pollInterval).map(t -> true))
          .onBackpressureLatest();
      return triggers.concatMap(t -> readOnce(key, last), 1)
          .takeUntil(StreamedEntry::isDone)
          .doFinally(signal -> readers.computeIfPresent(requestId, (k, list) -> {
            list.remove(wake);
            return list.isEmpty() ? null : list;
          }));
    });
  }

  /** Whether the request's output stream exists (it does from its first entry until it expires). */
  public Mono<Boolean> exists(String requestId) {
    return redis.hasKey(RedisKeys.output(requestId)).onErrorReturn(false);
  }

  /**
   * What is new in the stream, or {@link StreamedEntry#IDLE} when nothing is; entries of a type this gateway does not
   * know are skipped.
   */
  private Flux<StreamedEntry> readOnce(String key, AtomicReference<String> last) {
    return redis.<String, String>opsForStream()
        .read(StreamReadOptions.empty().count(1024), StreamOffset.create(key, ReadOffset.from(last.get())))
        .concatMap(record -> {
          last.set(record.getId().getValue());
          return Mono.justOrEmpty(entry(record));
        })
        .onErrorResume(e -> {
          log.warn("cannot read {} ({}); trying again", key, e.getMessage());
          return Mono.empty();
        })
        .switchIfEmpty(Mono.just(StreamedEntry.IDLE));
  }

  private static java.util.Optional<StreamedEntry> entry(MapRecord<String, String, String> record) {
    return OutputCodec.decode(record.getValue()).map(e -> new StreamedEntry(record.getId().getValue(), e));
  }

  @Override
  public void close() {
    subscription.dispose();
  }
}
