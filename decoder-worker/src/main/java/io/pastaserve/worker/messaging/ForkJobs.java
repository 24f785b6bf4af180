package io.pastaserve.worker.messaging;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.pastaserve.common.messaging.DecodeSpanCommand;
import io.pastaserve.common.messaging.ForkFinishedEvent;
import io.pastaserve.common.messaging.ForkJob;
import io.pastaserve.common.request.FinishReason;
import io.pastaserve.worker.engine.Engine;
import io.pastaserve.worker.engine.ForkPlacement;
import io.pastaserve.worker.engine.ForkPrefixKv;
import io.pastaserve.worker.engine.Forcing;
import io.pastaserve.worker.engine.GenerationRequest;
import io.pastaserve.worker.engine.RemoteFork;
import io.pastaserve.worker.engine.RemoteForks;
import io.pastaserve.worker.registry.WorkerHeartbeats;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import jakarta.annotation.PreDestroy;
import org.apache.kafka.common.TopicPartition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.data.redis.core.StringRedisTemplate;
import org.springframework.kafka.annotation.KafkaListener;
import org.springframework.kafka.config.KafkaListenerEndpointRegistry;
import org.springframework.kafka.core.KafkaTemplate;
import org.springframework.kafka.listener.MessageListenerContainer;
import org.springframework.stereotype.Component;

/**
 * Forks across workers, both ways ({@code pasta.worker.fork-placement}).
 *
 * <p>Out: a fork the engine places elsewhere ({@link RemoteForks}) becomes the span job of that one fork on the
 * span-jobs topic, keyed by request and span, on a partition another worker consumes (spread by the key over those;
 * by the key over all of them when this worker consumes none or all), with its parent's cache in Redis
 * ({@link ForkPrefixes}). When the worker that decoded it reports it done on the fork-results topic, its tokens go
 * back to the engine, which joins the fork. A fork that no other worker will decode is taken back: the engine decodes
 * it beside its parent after all ({@link Engine#remoteForkTakenBack}), the same text. That is a fork nobody claimed
 * within {@code remote-fork-claim-timeout} (the other workers full, paused or gone: this worker claims it itself, so
 * that a copy of its job taken later is dropped), a fork whose claim names a worker that is gone ({@link ForkOwners}),
 * and a fork not back within {@code remote-fork-timeout}.
 *
 * <p>In: a fork's job from another worker is claimed (one worker per fork:
 * {@link io.pastaserve.common.messaging.RedisKeys#forkOwner}), decoded here as {@link Forcing.Fork} (from its
 * parent's cache when the job names one still in Redis, else from the request's token ids), the fork's span events
 * are published as any span's (with this worker's id), and its tokens are reported on the fork-results topic.
 * Nothing else of the request is published from here. Once the report is on the broker the claim is given up. Forks
 * decoding here count against this worker's {@code max-requests} ({@link #decodingHere}).
 */
@Component
public final class ForkJobs implements RemoteForks {

  private static final Logger log = LoggerFactory.getLogger(ForkJobs.class);
  /** How long a fork's report waits for this worker's span events to reach the broker. */
  private static final java.time.Duration REPORT_WAIT = java.time.Duration.ofSeconds(5);
  /** How often the forks placed elsewhere are checked: late, or claimed by a worker that is gone. */
  private static final long SWEEP_EVERY_MS = 1000;

  private final Engine engine;
  private final KafkaTemplate<String, String> kafka;
  private final ObjectMapper json;
  private final MessagingProperties properties;
  private final SpanEventSender sender;
  private final String workerId;
  private final ForkOwners owners;
  private final RemoteForkMetrics metrics;
  private final KafkaListenerEndpointRegistry listeners;
  private final ForkPrefixes prefixes;
  /** Whether span-jobs partitions that this worker does not consume exist (another worker may take a fork). */
  private volatile boolean othersAvailable;
  /** Told when a fork decoding here ends: the job consumers may take jobs again. */
  private volatile Runnable forkEnded = () -> { };
  /** Forks of requests run here, decoding elsewhere: by {@link #key}, the job as sent and when. */
  private final Map<String, Sent> outstanding = new ConcurrentHashMap<>();
  /** Forks decoding here for other workers' requests, by request id. */
  private final Map<String, Integer> decoding = new ConcurrentHashMap<>();
  /** Sends leave the engine's thread at once: the engine never waits for the broker. */
  private final ExecutorService sends = Executors.newSingleThreadExecutor(r -> daemon(r, "fork-job-sender"));
  private final ScheduledExecutorService sweeper = Executors.newSingleThreadScheduledExecutor(
      r -> daemon(r, "remote-fork-sweeper"));

  /**
   * A fork placed elsewhere, and when; {@code prefixKey} names the parent's cache its job carries in Redis, or is
   * null.
   */
  private record Sent(String requestId, String span, String prefixKey, long placedNanos) {

    Sent withPrefix(String key) {
      return new Sent(requestId, span, key, placedNanos);
    }
  }

  ForkJobs(Engine engine, KafkaTemplate<String, String> kafka, ObjectMapper json, StringRedisTemplate redis,
      MessagingProperties properties, SpanEventSender sender, WorkerHeartbeats heartbeats,
      RemoteForkMetrics metrics, KafkaListenerEndpointRegistry listeners) {
    this.engine = engine;
    this.kafka = kafka;
    this.json = json;
    this.properties = properties;
    this.sender = sender;
    this.workerId = heartbeats.id();
    this.owners = new ForkOwners(redis, workerId);
    this.metrics = metrics;
    this.listeners = listeners;
    this.prefixes = new ForkPrefixes(redis, properties.forkPrefixMaxBytes(), properties.remoteForkTimeout()
        .multipliedBy(2));
    metrics.watch(this::decodingHere);
    if (properties.forkPlacement() != ForkPlacement.LOCAL) {
      engine.placeForks(properties.forkPlacement(), this, properties.forkPrefix());
      long every = Math.clamp(properties.remoteForkTimeout().toMillis() / 4, 100, SWEEP_EVERY_MS);
      sweeper.scheduleWithFixedDelay(this::sweep, every, every, TimeUnit.MILLISECONDS);
    }
  }

  /**
   * The engine placed a fork elsewhere: its job goes to the span-jobs topic. Built and sent on the sender's thread
   * (the parent's cache, when the engine took it, goes to Redis first), so the engine never waits for Redis or the
   * broker; the fork counts as outstanding from now on.
   */
  @Override
  public void fork(RemoteFork fork) {
    GenerationRequest r = fork.request();
    String k = key(r.id(), fork.span());
    outstanding.put(k, new Sent(r.id(), fork.span(), null, System.nanoTime()));
    metrics.placed();
    sends.execute(() -> {
      if (!outstanding.containsKey(k)) {
        return; // its request ended, or it was taken back, before its job left
      }
      ForkJob forkJob = prefixes.jobOf(fork);
      String prefixKey = forkJob.prefixKv() == null ? null : forkJob.prefixKv().key();
      if (prefixKey != null && outstanding.computeIfPresent(k, (kk, v) -> v.withPrefix(prefixKey)) == null) {
        prefixes.forget(prefixKey);
        return;
      }
      DecodeSpanCommand job = new DecodeSpanCommand(DecodeSpanCommand.VERSION, r.id(), fork.span(), r.prompt(),
          r.sampling(), r.mode(), 1, "", "", r.limits().orElse(null), forkJob);
      String value;
      try {
        value = json.writeValueAsString(job);
      } catch (JsonProcessingException e) {
        throw new IllegalStateException("a fork's job cannot be written: " + e.getMessage(), e);
      }
      sendElsewhere(r.id(), fork.span(), value);
    });
  }

  /** Whether another worker consumes span jobs: {@code auto} places forks elsewhere for want of room only then. */
  @Override
  public boolean othersAvailable() {
    return othersAvailable;
  }

  /** The parent's wait for a fork decoded elsewhere, from its sync (or its own end) to the fork's tokens. */
  @Override
  public void joinWaited(String requestId, String span, long nanos) {
    metrics.joinWaited(java.time.Duration.ofNanos(nanos));
  }

  /** A fork decoded elsewhere is done: if its request runs here, the engine joins it. */
  @KafkaListener(id = "worker-fork-results", topics = "${pasta.worker.fork-results-topic:pasta.fork-results}",
      groupId = "pasta-worker-forks-#{T(java.util.UUID).randomUUID()}", properties = "auto.offset.reset=latest")
  void onForkFinished(String value) throws JsonProcessingException {
    ForkFinishedEvent done = json.readValue(value, ForkFinishedEvent.class);
    Sent sent = outstanding.remove(key(done.requestId(), done.spanId()));
    if (sent != null) {
      metrics.back(java.time.Duration.ofNanos(System.nanoTime() - sent.placedNanos()));
      forgetPrefix(sent);
      log.debug("request {}: fork {} decoded by {} is back", done.requestId(), done.spanId(), done.worker());
      engine.remoteForkDone(done.requestId(), done.spanId(), done.tokens());
    }
  }

  /** A fork's job from another worker: decoded here, once claimed. On a span-jobs consumer thread. */
  void run(DecodeSpanCommand job) {
    String id = job.requestId();
    String span = job.spanId();
    if (!owners.claim(id, span, properties.remoteForkTimeout().multipliedBy(2))) {
      log.debug("request {}: fork {} is decoded by another worker; job dropped", id, span);
      return;
    }
    SpanEventSender.Channel events = sender.open(id, reason -> log.warn(
        "request {}: the events of fork {} cannot be sent ({}); its parent's worker decodes it itself", id, span,
        reason));
    SpanEventPublisher publisher = new SpanEventPublisher(events, id, workerId, properties.eventFlushInterval());
    ForkFocus focus = new ForkFocus(publisher, span);
    Optional<ForkPrefixKv> prefix = prefixes.prefixOf(job.fork());
    metrics.prefix(prefix.isPresent());
    GenerationRequest request = new GenerationRequest(id, job.prompt(), job.sampling(), job.mode(),
        Optional.of(new Forcing.Fork(job.fork().tokensBySpan(), job.fork().forksBySpan(), span, prefix)),
        Optional.ofNullable(job.limits()));
    decoding.merge(id, 1, Integer::sum);
    engine.submit(request, focus).whenComplete((result, error) -> {
      decoding.computeIfPresent(id, (k, n) -> n > 1 ? n - 1 : null);
      forkEnded.run();
      publisher.flush();
      if (error != null || result == null || !result.finishReason().isAnswer()) {
        // the claim is given up: the worker running the request finds the fork unclaimed and decodes it itself
        log.warn("request {}: fork {} did not finish here ({}); its request's worker decodes it itself", id, span,
            error != null ? error.toString() : result == null ? "no result" : result.finishReason());
        metrics.forkJobUnfinished(result != null && result.finishReason() == FinishReason.CANCELLED);
        sends.execute(() -> {
          try {
            owners.release(id, span);
          } catch (RuntimeException ex) {
            log.debug("request {}: fork {}'s claim stays until it expires: {}", id, span, ex.getMessage());
          }
        });
        return;
      }
      List<Integer> tokens = focus.tokens();
      // reported once the fork's span events are on the broker, so that the interpreter has them from this worker
      // before the parent's worker feeds the same tokens (and publishes them again); off the engine's thread
      sends.execute(() -> report(events, id, span, tokens));
    });
  }

  private void report(SpanEventSender.Channel events, String id, String span, List<Integer> tokens) {
    try {
      if (!events.drain(REPORT_WAIT)) {
        log.debug("request {}: fork {}'s events still on their way after {}; reporting it all the same", id, span,
            REPORT_WAIT);
      }
      kafka.send(properties.forkResultsTopic(), id, json.writeValueAsString(new ForkFinishedEvent(
          ForkFinishedEvent.VERSION, id, span, tokens, workerId))).whenCompleteAsync((r, e) -> {
            if (e != null) {
              log.warn("request {}: fork {}'s report did not reach the broker: {}; its parent's worker sends its "
                  + "job again", id, span, e.getMessage());
              return;
            }
            metrics.forkJobDecoded();
            try {
              owners.release(id, span);
            } catch (RuntimeException ex) {
              log.debug("request {}: fork {}'s claim stays until it expires: {}", id, span, ex.getMessage());
            }
          }, sends);
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

  /** Forks' jobs decoding here now (placed by any worker, this one included): each counts as a request held here. */
  int decodingHere() {
    return decoding.values().stream().mapToInt(Integer::intValue).sum();
  }

  /** {@code action} runs whenever a fork decoding here ends (on the engine's thread: it must be quick). */
  void whenForkEnds(Runnable action) {
    forkEnded = action;
  }

  /**
   * Each fork placed elsewhere that no other worker will decode is taken back: one nobody claimed within the claim
   * timeout (claimed by this worker now, so that a copy of its job taken later is dropped), one whose claim names a
   * worker that is gone, one not back within the timeout. And whether another worker consumes span jobs now
   * ({@link #othersAvailable}).
   */
  private void sweep() {
    try {
      List<Integer> mine = ownPartitions();
      othersAvailable = !mine.isEmpty()
          && kafka.partitionsFor(properties.spanJobsTopic()).size() > mine.size();
    } catch (RuntimeException e) {
      othersAvailable = false;
    }
    long now = System.nanoTime();
    for (Map.Entry<String, Sent> e : outstanding.entrySet()) {
      Sent s = e.getValue();
      try {
        RemoteForkMetrics.TakeBack reason = null;
        Optional<String> owner = owners.owner(s.requestId(), s.span());
        if (owner.isEmpty()) {
          if (now - s.placedNanos() >= properties.remoteForkClaimTimeout().toNanos()
              && owners.claim(s.requestId(), s.span(), properties.remoteForkTimeout().multipliedBy(2))) {
            reason = RemoteForkMetrics.TakeBack.UNCLAIMED;
          }
        } else if (owners.gone(owner.get())) {
          if (owners.giveUp(s.requestId(), s.span(), owner.get())) {
            owners.claim(s.requestId(), s.span(), properties.remoteForkTimeout().multipliedBy(2));
            reason = RemoteForkMetrics.TakeBack.OWNER_GONE;
          }
        } else if (now - s.placedNanos() >= properties.remoteForkTimeout().toNanos()) {
          reason = RemoteForkMetrics.TakeBack.TIMEOUT;
        }
        if (reason != null && outstanding.remove(e.getKey(), s)) {
          log.warn("request {}: fork {} is decoded here after all ({})", s.requestId(), s.span(), reason.tag());
          metrics.takenBack(reason);
          forgetPrefix(s);
          engine.remoteForkTakenBack(s.requestId(), s.span());
        }
      } catch (RuntimeException ex) {
        // Redis or the broker away: checked again in a second
        log.debug("request {}: fork {} cannot be checked now: {}", s.requestId(), s.span(), ex.getMessage());
      }
    }
  }

  /**
   * Sends a fork's job to a span-jobs partition this worker does not consume, so that another worker takes it: this
   * one placed it for want of room, or to spread the request. By its key when this worker consumes every partition
   * (it is alone) or none.
   */
  private void sendElsewhere(String requestId, String span, String job) {
    List<Integer> mine = ownPartitions();
    List<Integer> others = new ArrayList<>();
    if (!mine.isEmpty()) {
      int partitions = kafka.partitionsFor(properties.spanJobsTopic()).size();
      for (int p = 0; p < partitions; p++) {
        if (!mine.contains(p)) {
          others.add(p);
        }
      }
    }
    String key = key(requestId, span);
    send(others.isEmpty() ? null : others.get(Math.floorMod(key.hashCode(), others.size())), requestId, span, job);
  }

  /** The span-jobs partitions this worker's job consumers own now. */
  private List<Integer> ownPartitions() {
    MessageListenerContainer jobs = listeners.getListenerContainer(SpanJobListener.LISTENER_ID);
    Collection<TopicPartition> assigned = jobs == null ? null : jobs.getAssignedPartitions();
    return assigned == null ? List.of() : assigned.stream().filter(p -> p.topic().equals(properties.spanJobsTopic()))
        .map(TopicPartition::partition).distinct().toList();
  }

  /** Forgets the forks of a request that ended here (finished or cancelled): nothing waits for them any more. */
  void ended(String requestId) {
    for (Map.Entry<String, Sent> e : outstanding.entrySet()) {
      if (e.getValue().requestId().equals(requestId) && outstanding.remove(e.getKey(), e.getValue())) {
        forgetPrefix(e.getValue());
      }
    }
  }

  /** The parent's cache a fork's job named leaves Redis (off the caller's thread). */
  private void forgetPrefix(Sent sent) {
    if (sent.prefixKey() != null) {
      sends.execute(() -> prefixes.forget(sent.prefixKey()));
    }
  }

  /** Sends a fork's job to that span-jobs partition, or by its key when {@code partition} is null. */
  private void send(Integer partition, String requestId, String span, String job) {
    kafka.send(properties.spanJobsTopic(), partition, key(requestId, span), job).whenComplete((r, e) -> {
      if (e != null) {
        log.warn("request {}: fork {}'s job did not reach the broker: {}; its request's worker decodes it itself "
            + "after {}", requestId, span, e.getMessage(), properties.remoteForkClaimTimeout());
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
}
