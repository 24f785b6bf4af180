package io.pastaserve.gateway.generation;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.resilience4j.circuitbreaker.CallNotPermittedException;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.github.resilience4j.reactor.circuitbreaker.operator.CircuitBreakerOperator;
import io.github.resilience4j.reactor.timelimiter.TimeLimiterOperator;
import io.github.resilience4j.timelimiter.TimeLimiter;
import io.pastaserve.common.messaging.CancelCommand;
import io.pastaserve.common.messaging.GenerateCommand;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.kafka.core.KafkaTemplate;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;

/**
 * Publishes requests and cancellations to Kafka. Enqueueing runs behind a time limiter and a circuit breaker:
 * when the broker is away a request fails fast with 503 instead of waiting, and it is never retried here (a
 * generation has no idempotency key the client gave, and publishing twice would run it twice). The producer's
 * {@code send} may block while it fetches metadata, so it runs off the event loop.
 */
public final class RequestQueue {

  private static final Logger log = LoggerFactory.getLogger(RequestQueue.class);

  private final KafkaTemplate<String, String> kafka;
  private final ObjectMapper json;
  private final String requestsTopic;
  private final String cancelTopic;
  private final CircuitBreaker breaker;
  private final TimeLimiter limiter;
  /**
   * Threads of their own for {@code send}, which may block while the broker is away: a stuck send must not starve
   * the shared bounded-elastic pool (actuator endpoints run there).
   */
  private final reactor.core.scheduler.Scheduler senders = Schedulers.newBoundedElastic(16, 10_000, "kafka-send");

  public RequestQueue(KafkaTemplate<String, String> kafka, ObjectMapper json, String requestsTopic,
      String cancelTopic, CircuitBreaker breaker, TimeLimiter limiter) {
    this.kafka = kafka;
    this.json = json;
    this.requestsTopic = requestsTopic;
    this.cancelTopic = cancelTopic;
    this.breaker = breaker;
    this.limiter = limiter;
  }

  /** Completes once the broker has the request; fails with {@link GenerationException.Kind#QUEUE_UNAVAILABLE}. */
  public Mono<Void> enqueue(GenerateCommand command) {
    return Mono.fromCallable(() -> json.writeValueAsString(command))
        .flatMap(value -> Mono.fromFuture(() -> kafka.send(requestsTopic, command.requestId(), value))
            .subscribeOn(senders))
        .transformDeferred(TimeLimiterOperator.of(limiter))
        .transformDeferred(CircuitBreakerOperator.of(breaker))
        .then()
        .onErrorMap(e -> !(e instanceof GenerationException), e -> {
          String why = e instanceof CallNotPermittedException
              ? "the request queue failed repeatedly and is resting; try again shortly"
              : e instanceof TimeoutException ? "the request queue did not accept the request in time"
              : "the request queue is unavailable";
          log.warn("request {}: enqueue failed: {}", command.requestId(), e.toString());
          return new GenerationException(GenerationException.Kind.QUEUE_UNAVAILABLE, why, null);
        });
  }

  /** Stops the sender threads. */
  public void close() {
    senders.dispose();
  }

  /** Asks every span of the request to stop; best effort (a failure is logged; the deadline still bounds it). */
  public void cancel(String requestId, String reason) {
    String value;
    try {
      value = json.writeValueAsString(new CancelCommand(CancelCommand.VERSION, requestId, reason));
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
    Mono.fromFuture(() -> kafka.send(cancelTopic, requestId, value))
        .subscribeOn(senders)
        .subscribe(ok -> log.debug("request {} cancelled ({})", requestId, reason),
            e -> log.warn("cannot publish the cancellation of {}: {}", requestId, e.toString()));
  }
}
