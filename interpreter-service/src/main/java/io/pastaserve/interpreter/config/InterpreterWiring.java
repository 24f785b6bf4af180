package io.pastaserve.interpreter.config;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.pastaserve.common.messaging.Topics;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.pastaserve.interpreter.program.LeaseWatchdog;
import io.pastaserve.interpreter.program.RequestTracker;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.TopicPartition;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.data.redis.core.StringRedisTemplate;
import org.springframework.kafka.config.TopicBuilder;
import org.springframework.kafka.core.KafkaAdmin;
import org.springframework.kafka.core.KafkaTemplate;
import org.springframework.kafka.listener.DeadLetterPublishingRecoverer;
import org.springframework.kafka.listener.DefaultErrorHandler;
import org.springframework.util.backoff.FixedBackOff;

/** The request tracker, the lease watchdog, the topics, and dead-letter handling of unparseable messages. */
@Configuration(proxyBeanMethods = false)
class InterpreterWiring {

  @Bean
  RequestTracker requestTracker(StringRedisTemplate redis, ObjectMapper json, InterpreterProperties properties) {
    return new RequestTracker(redis, json, properties.runningTtl(), properties.finishedTtl());
  }

  /**
   * Sends the job of a request whose worker has gone again (counted in {@code pasta_requests_redispatched}), and
   * counts the running requests ({@code pasta_requests_running}, what the workers' autoscaling reads).
   */
  @Bean(destroyMethod = "close")
  LeaseWatchdog leaseWatchdog(StringRedisTemplate redis, KafkaTemplate<String, String> kafka,
      InterpreterProperties properties, MeterRegistry registry) {
    Counter redispatched = Counter.builder("pasta.requests.redispatched")
        .description("requests handed to another worker because theirs had gone").register(registry);
    LeaseWatchdog watchdog = new LeaseWatchdog(redis, properties.workerLeaseGrace(), properties.leaseCheckInterval(),
        (id, job) -> {
          redispatched.increment();
          kafka.send(properties.spanJobsTopic(), id, job);
        });
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
