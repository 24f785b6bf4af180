package io.pastaserve.interpreter.config;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.pastaserve.common.messaging.Topics;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.pastaserve.interpreter.program.LeaseWatchdog;
import io.pastaserve.interpreter.program.RequestTracker;
import io.pastaserve.interpreter.messaging.Cancellations;
import io.pastaserve.interpreter.messaging.SpanEventPartitions;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.TopicPartition;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.data.redis.core.StringRedisTemplate;
import org.springframework.kafka.config.TopicBuilder;
import org.springframework.kafka.core.KafkaAdmin;
import org.springframework.kafka.core.KafkaTemplate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.kafka.listener.DeadLetterPublishingRecoverer;
import org.springframework.kafka.listener.DefaultErrorHandler;
import org.springframework.util.backoff.FixedBackOff;

/**
 * The request tracker, the lease watchdog (which also bounds how long a request's tokens may stay missing), the
 * topics, and dead-letter handling of unparseable messages.
 */
@Configuration(proxyBeanMethods = false)
class InterpreterWiring {

  private static final Logger log = LoggerFactory.getLogger(InterpreterWiring.class);

  @Bean
  RequestTracker requestTracker(StringRedisTemplate redis, ObjectMapper json, InterpreterProperties properties,
      MeterRegistry registry) {
    RequestTracker tracker = new RequestTracker(redis, json, properties.runningTtl(), properties.finishedTtl(),
        properties.limits());
    Gauge.builder("pasta.interpreter.views", tracker, RequestTracker::views)
        .description("requests this instance holds a view of (running requests whose events come here)")
        .register(registry);
    return tracker;
  }

  /** Drops the views of span-event partitions that move (the consumer factory picks this listener up). */
  @Bean
  SpanEventPartitions spanEventPartitions(RequestTracker tracker, InterpreterProperties properties) {
    return new SpanEventPartitions(tracker, properties.spanEventsTopic());
  }

  @Bean
  Cancellations cancellations(KafkaTemplate<String, String> kafka, ObjectMapper json,
      InterpreterProperties properties) {
    return new Cancellations(kafka, json, properties.cancelTopic(), properties.sendTimeout());
  }

  /**
   * Sends the job of a request whose worker has gone again (counted in {@code pasta_requests_redispatched}), and
   * counts the running requests ({@code pasta_requests_running}, what the workers' autoscaling reads).
   */
  @Bean(destroyMethod = "close")
  LeaseWatchdog leaseWatchdog(StringRedisTemplate redis, KafkaTemplate<String, String> kafka,
      InterpreterProperties properties, MeterRegistry registry, RequestTracker tracker, Cancellations cancels) {
    Counter redispatched = Counter.builder("pasta.requests.redispatched")
        .description("jobs sent again: their worker had gone, no worker took them, or tokens of theirs were lost")
        .register(registry);
    LeaseWatchdog watchdog = new LeaseWatchdog(redis, properties.workerLeaseGrace(), properties.claimTimeout(),
        properties.leaseCheckInterval(), (id, job) -> {
          redispatched.increment();
          // a failed send leaves the request unclaimed: the watchdog sends it again after the claim timeout
          kafka.send(properties.spanJobsTopic(), id, job).whenComplete((r, e) -> {
            if (e != null) {
              log.warn("request {}: its job could not be sent again: {}", id, e.toString());
            }
          });
        });
    RequestTracker.Recovery recovery = new RequestTracker.Recovery() {
      @Override
      public void redispatch(String requestId) {
        watchdog.redispatch(requestId);
      }

      @Override
      public void cancel(String requestId) {
        cancels.send(requestId, "tokens lost");
      }
    };
    watchdog.alsoEachCheck(() -> tracker.checkGaps(properties.gapTimeout(), recovery));
    Gauge.builder("pasta.requests.running", watchdog, LeaseWatchdog::running)
        .description("requests running in the suite, waiting in Kafka or held by a worker (all interpreters agree)")
        .register(registry);
    return watchdog;
  }

  @Bean
  KafkaAdmin.NewTopics interpreterTopics(InterpreterProperties p) {
    int n = p.topicPartitions();
    return new KafkaAdmin.NewTopics(topic(p.requestsTopic(), n), topic(p.spanJobsTopic(), n),
        topic(p.spanEventsTopic(), n), topic(p.cancelTopic(), 1),
        topic(p.requestsTopic() + Topics.DEAD_LETTER_SUFFIX, n),
        topic(p.spanEventsTopic() + Topics.DEAD_LETTER_SUFFIX, n),
        topic(p.cancelTopic() + Topics.DEAD_LETTER_SUFFIX, 1));
  }

  private static NewTopic topic(String name, int partitions) {
    return TopicBuilder.name(name).partitions(partitions).build();
  }

  /**
   * Unparseable messages go to the dead-letter topic at once; a failure of Redis or Kafka is retried a few
   * times (handlers are idempotent), then the message is dead-lettered too.
   */
  @Bean
  DefaultErrorHandler kafkaErrorHandler(KafkaTemplate<String, String> template) {
    DefaultErrorHandler handler = new DefaultErrorHandler(new DeadLetterPublishingRecoverer(template,
        (record, e) -> new TopicPartition(record.topic() + Topics.DEAD_LETTER_SUFFIX, record.partition())),
        new FixedBackOff(500L, 5L));
    handler.addNotRetryableExceptions(JsonProcessingException.class, IllegalArgumentException.class);
    return handler;
  }
}
