package io.pastaserve.worker.messaging;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.pastaserve.common.lang.SpanId;
import io.pastaserve.common.messaging.DecodeSpanCommand;
import io.pastaserve.common.messaging.ForkFinishedEvent;
import io.pastaserve.common.messaging.ForkJob;
import io.pastaserve.common.messaging.RedisKeys;
import io.pastaserve.worker.engine.Engine;
import io.pastaserve.worker.engine.ForkPlacement;
import io.pastaserve.worker.engine.Forcing;
import io.pastaserve.worker.engine.GenerationRequest;
import io.pastaserve.worker.engine.RemoteFork;
import io.pastaserve.worker.engine.RemoteForks;
import io.pastaserve.worker.engine.SpanListener;
import io.pastaserve.worker.registry.WorkerHeartbeats;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import jakarta.annotation.PreDestroy;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.data.redis.core.StringRedisTemplate;
import org.springframework.kafka.annotation.KafkaListener;
import org.springframework.kafka.core.KafkaTemplate;
import org.springframework.stereotype.Component;

/**
 * Forks across workers, both ways ({@code pasta.worker.fork-placement}).
 *
 * <p>Out: a fork the engine places elsewhere ({@link RemoteForks}) becomes the span job of that one fork on the
 * span-jobs topic, keyed by request and span so that such jobs spread over the workers' partitions. When the worker
 * that decoded it reports it done on the fork-results topic, its tokens go back to the engine, which joins the fork.
 * A fork not reported within {@code remote-fork-timeout} has its job sent again (its claim given up first).
 *
 * <p>In: a fork's job from another worker is claimed (one worker per fork: {@link RedisKeys#forkOwner}), decoded
 * here as {@link Forcing.Fork} (the request's known tokens rebuild the fork's prefix), the fork's span events are
 * published as any span's (with this worker's id), and its tokens are reported on the fork-results topic. Nothing
 * else of the request is published from here.
 */
@Component
public final class ForkJobs implements RemoteForks {

  private static final Logger log = LoggerFactory.getLogger(ForkJobs.class);
  /** How long a fork's report waits for this worker's span events to reach the broker. */
  private static final java.time.Duration REPORT_WAIT = java.time.Duration.ofSeconds(5);

  private final Engine engine;
  private final KafkaTemplate<String, String> kafka;
  private final ObjectMapper json;
  private final StringRedisTemplate redis;
  private final MessagingProperties properties;
  private final SpanEventSender sender;
  private final String workerId;
  /** Forks of requests run here, decoding elsewhere: by {@link #key}, the job as sent and when. */
  private final Map<String, Sent> outstanding = new ConcurrentHashMap<>();
  /** Forks decoding here for other workers' requests, by request id. */
  private final Map<String, Integer> decoding = new ConcurrentHashMap<>();
  /** Sends leave the engine's thread at once: the engine never waits for the broker. */
  private final ExecutorService sends = Executors.newSingleThreadExecutor(r -> daemon(r, "fork-job-sender"));
  private final ScheduledExecutorService sweeper = Executors.newSingleThreadScheduledExecutor(
      r -> daemon(r, "remote-fork-sweeper"));

  private record Sent(String requestId, String span, String job, long sentNanos, int attempt) {
  }

  ForkJobs(Engine engine, KafkaTemplate<String, String> kafka, ObjectMapper json, StringRedisTemplate redis,
      MessagingProperties properties, SpanEventSender sender, WorkerHeartbeats heartbeats) {
    this.engine = engine;
    this.kafka = kafka;
    this.json = json;
    this.redis = redis;
    this.properties = properties;
    this.sender = sender;
    this.workerId = heartbeats.id();
    if (properties.forkPlacement() != ForkPlacement.LOCAL) {
      engine.placeForks(properties.forkPlacement(), this);
      long every = Math.max(100, properties.remoteForkTimeout().toMillis() / 4);
      sweeper.scheduleWithFixedDelay(this::resendLate, every, every, TimeUnit.MILLISECONDS);
    }
  }

  /** The engine placed a fork elsewhere: its job goes to the span-jobs topic (on the sender's thread). */
  @Override
  public void fork(RemoteFork fork) {
    GenerationRequest r = fork.request();
    DecodeSpanCommand job = new DecodeSpanCommand(DecodeSpanCommand.VERSION, r.id(), fork.span(), r.prompt(),
        r.sampling(), r.mode(), 1, "", "", r.limits().orElse(null),
        new ForkJob(fork.tokensBySpan(), fork.forksBySpan()));
    String value;
    try {
      value = json.writeValueAsString(job);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("a fork's job cannot be written: " + e.getMessage(), e);
    }
    outstanding.put(key(r.id(), fork.span()), new Sent(r.id(), fork.span(), value, System.nanoTime(), 1));
    sends.execute(() -> send(r.id(), fork.span(), value));
  }

  /** A fork decoded elsewhere is done: if its request runs here, the engine joins it. */
  @KafkaListener(id = "worker-fork-results", topics = "${pasta.worker.fork-results-topic:pasta.fork-results}",
      groupId = "pasta-worker-forks-#{T(java.util.UUID).randomUUID()}", properties = "auto.offset.reset=latest")
  void onForkFinished(String value) throws JsonProcessingException {
    ForkFinishedEvent done = json.readValue(value, ForkFinishedEvent.class);
    if (outstanding.remove(key(done.requestId(), done.spanId())) != null) {
      log.debug("request {}: fork {} decoded by {} is back", done.requestId(), done.spanId(), done.worker());
      engine.remoteForkDone(done.requestId(), done.spanId(), done.tokens());
    }
  }

  /** A fork's job from another worker: decoded here, once claimed. On a span-jobs consumer thread. */
  void run(DecodeSpanCommand job) {
    String id = job.requestId();
    String span = job.spanId();
    Boolean claimed = redis.opsForValue().setIfAbsent(RedisKeys.forkOwner(id, span), workerId,
        properties.remoteForkTimeout().multipliedBy(2));
    if (!Boolean.TRUE.equals(claimed)) {
      log.debug("request {}: fork {} is decoded by another worker; job dropped", id, span);
      return;
    }
    SpanEventPublisher publisher = new SpanEventPublisher(sender.open(id, reason -> log.warn(
        "request {}: the events of fork {} cannot be sent ({}); its parent's worker sends its job again", id, span,
        reason)), id, workerId, properties.eventFlushInterval());
    Focus focus = new Focus(publisher, span);
    GenerationRequest request = new GenerationRequest(id, job.prompt(), job.sampling(), job.mode(),
        Optional.of(new Forcing.Fork(job.fork().tokensBySpan(), job.fork().forksBySpan(), span)),
        Optional.ofNullable(job.limits()));
    decoding.merge(id, 1, Integer::sum);
    engine.submit(request, focus).whenComplete((result, error) -> {
      decoding.computeIfPresent(id, (k, n) -> n > 1 ? n - 1 : null);
      publisher.flush();
      if (error != null || result == null || !result.finishReason().isAnswer()) {
        log.warn("request {}: fork {} did not finish here ({}); its parent's worker sends its job again", id, span,
            error != null ? error.toString() : result == null ? "no result" : result.finishReason());
        return;
      }
      List<Integer> tokens = focus.tokens();
      // reported once the fork's span events are on the broker, so that the interpreter has them from this worker
      // before the parent's worker feeds the same tokens (and publishes them again); off the engine's thread
      sends.execute(() -> report(id, span, tokens));
    });
  }

  private void report(String id, String span, List<Integer> tokens) {
    try {
      if (!sender.drain(REPORT_WAIT)) {
        log.debug("request {}: fork {}'s events still on their way after {}; reporting it all the same", id, span,
            REPORT_WAIT);
      }
      kafka.send(properties.forkResultsTopic(), id, json.writeValueAsString(new ForkFinishedEvent(
          ForkFinishedEvent.VERSION, id, span, tokens, workerId)));
    } catch (JsonProcessingException e) {
      log.warn("request {}: fork {} cannot be reported: {}", id, span, e.getMessage());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Whether a fork of request {@code requestId} is decoding here (a cancellation reaches it). */
  boolean decodes(String requestId) {
    return decoding.containsKey(requestId);
  }

  /** Forks decoding elsewhere for longer than the timeout: their claim is given up and their job sent again. */
  private void resendLate() {
    long late = properties.remoteForkTimeout().toNanos();
    for (Map.Entry<String, Sent> e : outstanding.entrySet()) {
      Sent s = e.getValue();
      if (System.nanoTime() - s.sentNanos() < late) {
        continue;
      }
      log.warn("request {}: fork {} has not come back in {}; sending its job again", s.requestId(), s.span(),
          properties.remoteForkTimeout());
      try {
        redis.delete(RedisKeys.forkOwner(s.requestId(), s.span()));
        outstanding.replace(e.getKey(), s, new Sent(s.requestId(), s.span(), s.job(), System.nanoTime(),
            s.attempt() + 1));
        send(s.requestId(), s.span(), s.job());
      } catch (RuntimeException ex) {
        log.warn("request {}: fork {}'s job cannot be sent again now: {}", s.requestId(), s.span(), ex.getMessage());
      }
    }
  }

  /** Forgets the forks of a request that ended here (finished or cancelled): nothing waits for them any more. */
  void ended(String requestId) {
    outstanding.values().removeIf(s -> s.requestId().equals(requestId));
  }

  private void send(String requestId, String span, String job) {
    kafka.send(properties.spanJobsTopic(), key(requestId, span), job).whenComplete((r, e) -> {
      if (e != null) {
        log.warn("request {}: fork {}'s job did not reach the broker: {}; it is sent again after {}", requestId, span,
            e.getMessage(), properties.remoteForkTimeout());
      }
    });
  }

  /** The Kafka key of a fork's job, and its key here. */
  static String key(String requestId, String span) {
    return requestId + "#" + span;
  }

  @PreDestroy
  void close() {
    sends.shutdownNow();
    sweeper.shutdownNow();
  }

  private static Thread daemon(Runnable r, String name) {
    Thread t = new Thread(r, name);
    t.setDaemon(true);
    return t;
  }

  /** Passes on the events of the fork decoded here (and of the forks it starts); keeps the fork's own tokens. */
  private static final class Focus implements SpanListener {
    private final SpanEventPublisher out;
    private final String span;
    private final List<Integer> tokens = new ArrayList<>();

    Focus(SpanEventPublisher out, String span) {
      this.out = out;
      this.span = span;
    }

    List<Integer> tokens() {
      synchronized (tokens) {
        return List.copyOf(tokens);
      }
    }

    private boolean mine(SpanId id) {
      return id.path().equals(span) || id.path().startsWith(span + ".");
    }

    @Override
    public void onToken(SpanId id, int index, int token) {
      if (id.path().equals(span)) {
        synchronized (tokens) {
          tokens.add(token);
        }
      }
      if (mine(id)) {
        out.onToken(id, index, token);
      }
    }

    @Override
    public void onRawText(SpanId id, String raw) {
      if (mine(id)) {
        out.onRawText(id, raw);
      }
    }

    @Override
    public void onText(SpanId id, String text) {
      if (mine(id)) {
        out.onText(id, text);
      }
    }

    @Override
    public void onFork(SpanId parent, SpanId child, String topic) {
      if (mine(parent)) {
        out.onFork(parent, child, topic);
      } else if (child.path().equals(span)) {
        out.forkedElsewhere(parent, child, topic);
      }
    }

    @Override
    public void onSpanEnd(SpanId id) {
      if (mine(id)) {
        out.onSpanEnd(id);
      }
    }

    @Override
    public void onStep() {
      out.onStep();
    }
  }
}
