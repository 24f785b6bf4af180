package io.pastaserve.worker.messaging;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.pastaserve.common.messaging.CancelCommand;
import io.pastaserve.common.messaging.DecodeSpanCommand;
import io.pastaserve.common.messaging.RedisKeys;
import io.pastaserve.common.messaging.RequestFinishedEvent;
import io.pastaserve.common.messaging.SpanEventEnvelope;
import io.pastaserve.common.messaging.SpanTiming;
import io.pastaserve.common.messaging.TokenItem;
import io.pastaserve.common.request.FinishReason;
import io.pastaserve.worker.engine.Engine;
import io.pastaserve.worker.engine.Forcing;
import io.pastaserve.worker.engine.GenerationRequest;
import io.pastaserve.worker.engine.GenerationResult;
import io.pastaserve.worker.registry.WorkerHeartbeats;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;
import org.springframework.context.SmartLifecycle;
import org.springframework.data.redis.core.StringRedisTemplate;
import org.springframework.kafka.annotation.KafkaListener;
import org.springframework.kafka.config.KafkaListenerEndpointRegistry;
import org.springframework.kafka.core.KafkaTemplate;
import org.springframework.kafka.listener.AbstractMessageListenerContainer;
import org.springframework.kafka.listener.MessageListenerContainer;
import org.springframework.stereotype.Component;

/**
 * Takes span jobs off Kafka and runs them in the engine's shared batch. A job is acknowledged as soon as this worker
 * has claimed its request in Redis ({@link RequestLeases}) and handed it to the engine: the request's lease, not the
 * Kafka offset, says who runs it. When a worker dies, its heartbeat expires and the interpreter hands its requests
 * out again; whoever takes one resumes it from the token ids recorded in Redis. A worker that stops cleanly lets its
 * running requests finish for a while, then hands the rest over itself.
 */
@Component
class SpanJobListener implements SmartLifecycle {

  private static final Logger log = LoggerFactory.getLogger(SpanJobListener.class);
  static final String LISTENER_ID = "span-jobs";
  /** The error of a request whose state Redis lost. */
  static final String LOST_STATE = "the request's state is gone from Redis (restarted without persistence, or "
      + "expired); it cannot run";

  private final Engine engine;
  private final KafkaTemplate<String, String> kafka;
  private final ObjectMapper json;
  private final StringRedisTemplate redis;
  private final MessagingProperties properties;
  private final RequestMetrics metrics;
  private final RequestLeases leases;
  private final KafkaListenerEndpointRegistry listeners;
  private final SpanEventSender sender;
  /** Forks across workers: those this worker places elsewhere, and those it decodes for others. */
  private final ForkJobs forkJobs;
  /** Requests held here (running or waiting for the engine). */
  private final Map<String, Held> inFlight = new ConcurrentHashMap<>();
  /** Requests another worker runs now, or that this one handed over: they end here without a word. */
  private final Set<String> handedOver = ConcurrentHashMap.newKeySet();
  /** Requests whose span events could not be sent, on their way to other workers. */
  private final RequestHandover handover;

  /** A request held here: its job as received, and the publisher of its span events. */
  private record Held(String job, SpanEventPublisher publisher) {
  }
  private final ScheduledExecutorService sweeper = Executors.newSingleThreadScheduledExecutor(r -> {
    Thread t = new Thread(r, "ended-request-sweeper");
    t.setDaemon(true);
    return t;
  });
  private volatile boolean running;

  SpanJobListener(Engine engine, KafkaTemplate<String, String> kafka, ObjectMapper json, StringRedisTemplate redis,
      MessagingProperties properties, RequestMetrics metrics, WorkerHeartbeats heartbeats,
      KafkaListenerEndpointRegistry listeners, SpanEventSender sender, ForkJobs forkJobs) {
    this.engine = engine;
    this.kafka = kafka;
    this.json = json;
    this.redis = redis;
    this.properties = properties;
    this.metrics = metrics;
    this.leases = new RequestLeases(redis, heartbeats.id());
    this.listeners = listeners;
    this.sender = sender;
    this.forkJobs = forkJobs;
    this.handover = new RequestHandover(leases, redis, kafka, properties.spanJobsTopic());
    this.sweeper.scheduleWithFixedDelay(this::sweep, 500, 500, TimeUnit.MILLISECONDS);
    forkJobs.whenForkEnds(this::throttle);
  }

  /**
   * One consumer per partition, a few records per poll: a worker that holds {@code maxRequests} pauses them, and
   * the jobs it does not take stay in Kafka for the other workers.
   */
  @KafkaListener(id = LISTENER_ID, topics = "${pasta.worker.span-jobs-topic:pasta.span-jobs}",
      groupId = "pasta-workers", containerFactory = "jobContainerFactory",
      concurrency = "${pasta.worker.topic-partitions:8}", properties = "max.poll.records=4")
  void onJob(ConsumerRecord<String, String> record) throws JsonProcessingException {
    DecodeSpanCommand job = json.readValue(record.value(), DecodeSpanCommand.class);
    String id = job.requestId();
    MDC.put("requestId", id);
    try {
      if (job.fork() != null) {
        // the job of one fork that the worker running the request placed elsewhere; none for a request that ended
        // (cancelled, or done with the fork taken back) while the job waited in Kafka
        if (!leases.owner(id).running()) {
          log.debug("fork {}'s job dropped: its request is not running", job.spanId());
          return;
        }
        forkJobs.run(job);
        throttle();
        return;
      }
      // a copy of the job of a request running here claims it again (the interpreter may have thought this worker
      // gone) and is dropped
      RequestLeases.Claim claim = leases.claim(id);
      if (claim == RequestLeases.Claim.LOST) {
        endLost(id);
        return;
      }
      if (claim != RequestLeases.Claim.TAKEN) {
        log.debug("job dropped: {}", claim == RequestLeases.Claim.ENDED ? "the request has ended"
            : "another worker runs the request");
        return;
      }
      String value = record.value();
      SpanEventPublisher publisher = new SpanEventPublisher(sender.open(id, reason -> eventsFailed(id, value)), id,
          leases.workerId(), properties.eventFlushInterval());
      if (inFlight.putIfAbsent(id, new Held(record.value(), publisher)) != null) {
        log.debug("job of a request running here; dropped");
        return;
      }
      try {
        run(job, publisher);
      } catch (RuntimeException e) {
        inFlight.remove(id);
        leases.release(id);
        throw e;
      }
      throttle();
    } finally {
      MDC.remove("requestId");
    }
  }

  /**
   * Ends a request whose state Redis lost: its tokens and program are gone, so it cannot run or resume anywhere, and
   * nobody else would end it; the interpreter turns the error into the request's final entry, so the client hears
   * it at once. The send is waited for: if it fails, the job is retried by the error handler.
   */
  private void endLost(String id) {
    log.warn("request {}: its state is gone from Redis; ending it with an error", id);
    RequestFinishedEvent error = new RequestFinishedEvent(RequestFinishedEvent.VERSION, id, FinishReason.ERROR,
        LOST_STATE, 0, 0, 0, 0, "", List.of());
    try {
      kafka.send(properties.spanEventsTopic(), id, json.writeValueAsString(SpanEventEnvelope.of(error)))
          .get(properties.kafkaDeliveryTimeout().toMillis() + 5_000, TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while ending a request", e);
    } catch (Exception e) {
      throw new IllegalStateException("cannot publish the end of request " + id + ": " + e.getMessage(), e);
    }
    metrics.reason(FinishReason.ERROR);
  }

  private void run(DecodeSpanCommand job, SpanEventPublisher publisher) {
    String id = job.requestId();
    Optional<Forcing.Resume> known = resumeFrom(id);
    known.ifPresent(k -> log.info("resuming request from {} recorded tokens",
        k.tokensBySpan().values().stream().mapToInt(List::size).sum()));
    Optional<Forcing> forcing = !job.replay().isEmpty() ? Optional.of(new Forcing.Replay(job.replay()))
        : known.map(Forcing.class::cast);
    // the interpreter holds the request's program to the limits its job carries; a job without them gets this worker's
    GenerationRequest request = new GenerationRequest(id, job.prompt(), job.sampling(), job.mode(), forcing,
        Optional.ofNullable(job.limits()));
    engine.submit(request, publisher).whenComplete((result, error) -> {
      try {
        publisher.flush();
        metrics.spansDecoded(publisher.spansEnded());
        if (handedOver.remove(id)) {
          log.debug("request {} stopped here; another worker goes on with it", id);
          return;
        }
        publisher.send(SpanEventEnvelope.of(finished(id, result, error, publisher.timings())));
        if (result != null) {
          metrics.finished(result);
        } else {
          metrics.reason(FinishReason.ERROR);
        }
      } finally {
        inFlight.remove(id);
        handedOver.remove(id);
        forkJobs.ended(id);
        throttle();
      }
    });
  }

  /**
   * A request whose span events could not be sent in time stops here — what its spans decode from now on could not
   * be sent either — and goes to another worker, which resumes it from what the interpreter recorded: the answer
   * comes out whole, later, never shortened.
   */
  private void eventsFailed(String id, String job) {
    inFlight.computeIfPresent(id, (k, held) -> {
      handedOver.add(id);
      engine.cancel(id);
      return held;
    });
    handover.add(id, job);
  }

  /**
   * Takes no more jobs while this worker holds {@code maxRequests} — its requests and the forks it decodes for other
   * workers' requests ({@link ForkJobs#decodingHere}) — and takes them again when it has room. Serialized, so that a
   * pause decided on a consumer thread and a resume decided as a request or fork ends cannot cross.
   */
  private synchronized void throttle() {
    MessageListenerContainer container = listeners.getListenerContainer(LISTENER_ID);
    if (container == null || !running) {
      return;
    }
    boolean full = inFlight.size() + forkJobs.decodingHere() >= properties.maxRequests();
    if (full && !container.isPauseRequested()) {
      container.pause();
    } else if (!full && container.isPauseRequested()) {
      container.resume();
    }
  }

  /**
   * Every half second: a request the interpreter has ended (cancelled, stopped, past its deadline) is cancelled here
   * too, even when its cancel message never reached this worker; a request another worker has taken over (this one
   * was thought gone: its heartbeat could not be written) stops here without finishing.
   */
  private void sweep() {
    throttle();
    try {
      handover.attempt(inFlight::containsKey);
    } catch (RuntimeException e) {
      log.debug("cannot hand requests over: {}", e.getMessage());
    }
    try {
      for (String id : List.copyOf(inFlight.keySet())) {
        RequestLeases.Owner owner = leases.owner(id);
        if (owner.finished()) {
          log.debug("request {} has ended elsewhere; cancelling it here", id);
          engine.cancel(id);
        } else if (owner.running() && !owner.worker().isEmpty() && !owner.worker().equals(leases.workerId())) {
          log.warn("request {} is now run by worker {}; stopping it here", id, owner.worker());
          stopHere(id);
        }
      }
    } catch (RuntimeException e) {
      log.debug("cannot check running requests: {}", e.getMessage());
    }
  }

  @Override
  public void start() {
    running = true;
  }

  @Override
  public boolean isRunning() {
    return running;
  }

  /** Stops after the job consumers (no new jobs) and before the Redis and Kafka clients. */
  @Override
  public int getPhase() {
    return AbstractMessageListenerContainer.DEFAULT_PHASE - 100;
  }

  /**
   * A clean stop: running requests get {@code drainTimeout} to finish; the others are given back (the lease
   * released, the job sent again) and another worker resumes them from Redis.
   */
  @Override
  public void stop() {
    running = false;
    long deadline = System.nanoTime() + properties.drainTimeout().toNanos();
    if (!inFlight.isEmpty()) {
      log.info("stopping: {} requests running; waiting up to {} for them", inFlight.size(),
          properties.drainTimeout());
    }
    try {
      // forks decoding here for other workers get the same time; those left are sent again by their parent's worker
      // once this worker's heartbeat is gone
      while ((!inFlight.isEmpty() || forkJobs.decodingHere() > 0) && System.nanoTime() < deadline) {
        Thread.sleep(50);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    try {
      if (!sender.drain(Duration.ofNanos(Math.max(0, deadline - System.nanoTime())).plusSeconds(5))) {
        log.warn("stopping with {} span events not sent; their requests go on elsewhere", sender.pending());
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    int handed = 0;
    for (Map.Entry<String, Held> entry : Map.copyOf(inFlight).entrySet()) {
      String id = entry.getKey();
      entry.getValue().publisher().silence();
      handedOver.add(id);
      try {
        if (leases.release(id)) {
          kafka.send(properties.spanJobsTopic(), id, entry.getValue().job()).get(5, TimeUnit.SECONDS);
          handed++;
        }
      } catch (Exception e) {
        // the heartbeat goes with this worker: the interpreter hands the request out again
        log.warn("request {}: cannot hand it over now ({}); the interpreter will", id, e.getMessage());
        if (e instanceof InterruptedException) {
          Thread.currentThread().interrupt();
        }
      }
      engine.cancel(id);
    }
    if (handed > 0) {
      log.info("handed {} running requests to other workers", handed);
    }
    sweeper.shutdownNow();
  }

  /** Stops a request that goes on elsewhere: nothing more is published for it, and it frees its cache. */
  private void stopHere(String id) {
    Held held = inFlight.get(id);
    if (held != null) {
      held.publisher().silence();
      handedOver.add(id);
      engine.cancel(id);
    }
  }

  @KafkaListener(id = "worker-cancel", topics = "${pasta.worker.cancel-topic:pasta.cancel}",
      groupId = "pasta-worker-cancel-#{T(java.util.UUID).randomUUID()}",
      properties = "auto.offset.reset=latest")
  void onCancel(String value) throws JsonProcessingException {
    CancelCommand cancel = json.readValue(value, CancelCommand.class);
    log.debug("request {}: cancel received ({})", cancel.requestId(), cancel.reason());
    if (inFlight.containsKey(cancel.requestId()) || forkJobs.decodes(cancel.requestId())) {
      engine.cancel(cancel.requestId());
    }
  }

  /**
   * What a request resumes from: the token ids recorded for each span, and which of them started forks (from each
   * token's recorded piece), so that its known promises fork or run inline as they did; empty for a new request.
   * Pieces that do not match the tokens leave the forks unsaid (the cache budget decides them).
   */
  private Optional<Forcing.Resume> resumeFrom(String requestId) {
    Map<String, List<Integer>> known = new HashMap<>();
    Map<String, List<Integer>> forks = new HashMap<>();
    boolean forksKnown = true;
    Set<Object> spans = redis.opsForHash().keys(RedisKeys.spans(requestId));
    for (Object key : spans) {
      String span = (String) key;
      List<String> ids = redis.opsForList().range(RedisKeys.tokens(requestId, span), 0, -1);
      if (ids == null || ids.isEmpty()) {
        continue;
      }
      known.put(span, ids.stream().map(Integer::valueOf).toList());
      List<String> pieces = redis.opsForList().range(RedisKeys.pieces(requestId, span), 0, -1);
      forksKnown = forksKnown && pieces != null && pieces.size() == ids.size()
          && forkedTokens(requestId, span, pieces, forks);
    }
    if (known.isEmpty()) {
      return Optional.empty();
    }
    if (!forksKnown) {
      log.warn("request {}: the recorded pieces do not match its tokens; the cache budget decides its forks",
          requestId);
    }
    return Optional.of(new Forcing.Resume(known, forksKnown ? Optional.of(forks) : Optional.empty()));
  }

  /** Adds to {@code forks} the index of each of a span's recorded tokens that started forks, once per fork. */
  private boolean forkedTokens(String requestId, String span, List<String> pieces,
      Map<String, List<Integer>> forks) {
    try {
      for (String piece : pieces) {
        TokenItem item = json.readValue(piece, TokenItem.class);
        for (int f = 0; f < item.forks().size(); f++) {
          forks.computeIfAbsent(span, x -> new ArrayList<>()).add(item.index());
        }
      }
      return true;
    } catch (JsonProcessingException e) {
      log.warn("request {}: a recorded piece of span {} is unreadable: {}", requestId, span, e.getOriginalMessage());
      return false;
    }
  }

  private static RequestFinishedEvent finished(String id, GenerationResult result, Throwable error,
      List<SpanTiming> timings) {
    if (result == null) {
      return new RequestFinishedEvent(RequestFinishedEvent.VERSION, id, FinishReason.ERROR,
          error == null ? "unknown" : String.valueOf(error.getMessage()), 0, 0, 0, 0, "", timings);
    }
    return new RequestFinishedEvent(RequestFinishedEvent.VERSION, id,
        result.finishReason(), result.error(), result.stats().promptTokens(),
        result.stats().totalTokens(), result.stats().criticalPathTokens(), result.stats().forks(),
        result.annotated(), timings);
  }
}
