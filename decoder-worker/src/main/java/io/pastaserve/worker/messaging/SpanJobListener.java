package io.pastaserve.worker.messaging;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.pastaserve.common.messaging.CancelCommand;
import io.pastaserve.common.messaging.DecodeSpanCommand;
import io.pastaserve.common.messaging.RedisKeys;
import io.pastaserve.common.messaging.RequestFinishedEvent;
import io.pastaserve.common.messaging.Sampling;
import io.pastaserve.common.messaging.SpanEventEnvelope;
import io.pastaserve.common.messaging.SpanTiming;
import io.pastaserve.worker.engine.Engine;
import io.pastaserve.worker.engine.Forcing;
import io.pastaserve.worker.engine.GenerationRequest;
import io.pastaserve.worker.engine.GenerationResult;
import io.pastaserve.worker.engine.Mode;
import io.pastaserve.worker.sampling.SamplingParams;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;
import org.springframework.data.redis.core.StringRedisTemplate;
import org.springframework.kafka.annotation.KafkaListener;
import org.springframework.kafka.core.KafkaTemplate;
import org.springframework.kafka.support.Acknowledgment;
import org.springframework.stereotype.Component;

/**
 * Takes span jobs off Kafka and runs them in the engine's shared batch. The listener returns at once; the job is
 * acknowledged when its request ends, so a job whose worker dies is redelivered to another worker, which resumes
 * it from the token ids recorded in Redis.
 */
@Component
class SpanJobListener {

  private static final Logger log = LoggerFactory.getLogger(SpanJobListener.class);

  private final Engine engine;
  private final KafkaTemplate<String, String> kafka;
  private final ObjectMapper json;
  private final StringRedisTemplate redis;
  private final String eventsTopic;
  private final java.time.Duration flushInterval;
  private final RequestMetrics metrics;
  /**
   * Requests running here, with the acknowledgements of every delivery of their job: a job redelivered while it
   * runs (after a rebalance gave its partition back to this worker) is acknowledged only when the request ends,
   * never before — an early acknowledgement would commit the offset of a request that has not finished.
   */
  private final Map<String, List<Acknowledgment>> inFlight = new ConcurrentHashMap<>();

  SpanJobListener(Engine engine, KafkaTemplate<String, String> kafka, ObjectMapper json, StringRedisTemplate redis,
      MessagingProperties properties, RequestMetrics metrics) {
    this.metrics = metrics;
    this.sweeper.scheduleWithFixedDelay(this::sweepEnded, 500, 500, java.util.concurrent.TimeUnit.MILLISECONDS);
    this.engine = engine;
    this.kafka = kafka;
    this.json = json;
    this.redis = redis;
    this.eventsTopic = properties.spanEventsTopic();
    this.flushInterval = properties.eventFlushInterval();
  }

  /**
   * One consumer per partition: with asynchronous acknowledgements a consumer takes no new records until every
   * record of its last poll is acknowledged, that is until those requests end, so a consumer shared by all
   * partitions would hold each new request back behind the running ones.
   */
  @KafkaListener(id = "span-jobs", topics = "${pasta.worker.span-jobs-topic:pasta.span-jobs}",
      groupId = "pasta-workers", containerFactory = "jobContainerFactory",
      concurrency = "${pasta.worker.topic-partitions:8}")
  void onJob(ConsumerRecord<String, String> record, Acknowledgment ack) throws JsonProcessingException {
    DecodeSpanCommand job = json.readValue(record.value(), DecodeSpanCommand.class);
    String id = job.requestId();
    List<Acknowledgment> acks = new java.util.concurrent.CopyOnWriteArrayList<>(List.of(ack));
    List<Acknowledgment> running = inFlight.putIfAbsent(id, acks);
    if (running != null) {
      running.add(ack);
      return;
    }
    MDC.put("requestId", id);
    try {
      Map<String, List<Integer>> known = resumeTokens(id);
      if (!known.isEmpty()) {
        log.info("resuming request from {} recorded tokens", known.values().stream().mapToInt(List::size).sum());
      }
      Optional<Forcing> forcing = !job.replay().isEmpty() ? Optional.of(new Forcing.Replay(job.replay()))
          : known.isEmpty() ? Optional.empty() : Optional.of(new Forcing.Resume(known));
      GenerationRequest request = new GenerationRequest(id, job.prompt(), sampling(job.sampling()),
          Mode.parse(job.mode()), forcing);
      SpanEventPublisher publisher = new SpanEventPublisher(kafka, json, eventsTopic, id, flushInterval);
      engine.submit(request, publisher).whenComplete((result, error) -> {
        try {
          publisher.flush();
          publisher.send(SpanEventEnvelope.of(finished(id, result, error, publisher.timings())));
          if (result != null) {
            metrics.finished(result);
          } else {
            metrics.reason("error");
          }
        } finally {
          inFlight.remove(id);
          acks.forEach(Acknowledgment::acknowledge);
        }
      });
    } catch (RuntimeException e) {
      inFlight.remove(id);
      throw e;
    } finally {
      MDC.remove("requestId");
    }
  }

  /**
   * A backstop for cancellations: a request the interpreter has ended (cancelled, stopped, past its deadline) is
   * cancelled here too even when its cancel message never reached this worker (a cancel consumer that joined
   * late, a broker that was away).
   */
  private final java.util.concurrent.ScheduledExecutorService sweeper =
      java.util.concurrent.Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "ended-request-sweeper");
        t.setDaemon(true);
        return t;
      });

  private void sweepEnded() {
    try {
      for (String id : List.copyOf(inFlight.keySet())) {
        if ("finished".equals(redis.opsForHash().get(RedisKeys.request(id), "status"))) {
          log.debug("request {} has ended elsewhere; cancelling it here", id);
          engine.cancel(id);
        }
      }
    } catch (RuntimeException e) {
      log.debug("cannot check ended requests: {}", e.getMessage());
    }
  }

  @jakarta.annotation.PreDestroy
  void stopSweeper() {
    sweeper.shutdownNow();
  }

  @KafkaListener(id = "worker-cancel", topics = "${pasta.worker.cancel-topic:pasta.cancel}",
      groupId = "pasta-worker-cancel-#{T(java.util.UUID).randomUUID()}",
      properties = "auto.offset.reset=latest")
  void onCancel(String value) throws JsonProcessingException {
    CancelCommand cancel = json.readValue(value, CancelCommand.class);
    log.debug("request {}: cancel received ({})", cancel.requestId(), cancel.reason());
    if (inFlight.containsKey(cancel.requestId())) {
      engine.cancel(cancel.requestId());
    }
  }

  /** The token ids recorded for each span of a request, by span id; empty for a new request. */
  private Map<String, List<Integer>> resumeTokens(String requestId) {
    Map<String, List<Integer>> known = new HashMap<>();
    Set<Object> spans = redis.opsForHash().keys(RedisKeys.spans(requestId));
    for (Object span : spans) {
      List<String> ids = redis.opsForList().range(RedisKeys.tokens(requestId, (String) span), 0, -1);
      if (ids != null && !ids.isEmpty()) {
        known.put((String) span, ids.stream().map(Integer::valueOf).toList());
      }
    }
    return known;
  }

  static SamplingParams sampling(Sampling s) {
    return new SamplingParams(s.temperature(), s.topP() <= 0 ? 1 : s.topP(), s.topK(), s.seed(), s.maxTokens(),
        s.stop());
  }

  private static RequestFinishedEvent finished(String id, GenerationResult result, Throwable error,
      List<SpanTiming> timings) {
    if (result == null) {
      return new RequestFinishedEvent(RequestFinishedEvent.VERSION, id, "error",
          error == null ? "unknown" : String.valueOf(error.getMessage()), 0, 0, 0, 0, "", timings);
    }
    return new RequestFinishedEvent(RequestFinishedEvent.VERSION, id,
        result.finishReason().name().toLowerCase(Locale.ROOT), result.error(), result.stats().promptTokens(),
        result.stats().totalTokens(), result.stats().criticalPathTokens(), result.stats().forks(),
        result.annotated(), timings);
  }
}
