package io.pastaserve.worker.config;

import com.fasterxml.jackson.core.JsonProcessingException;
import io.pastaserve.common.messaging.Topics;
import io.pastaserve.worker.messaging.MessagingProperties;
import java.util.Map;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.TopicPartition;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.kafka.DefaultKafkaProducerFactoryCustomizer;
import org.springframework.boot.autoconfigure.kafka.KafkaProperties;
import org.springframework.boot.ssl.SslBundles;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.kafka.config.ConcurrentKafkaListenerContainerFactory;
import org.springframework.kafka.config.TopicBuilder;
import org.springframework.kafka.core.ConsumerFactory;
import org.springframework.kafka.core.KafkaAdmin;
import org.springframework.kafka.core.KafkaTemplate;
import org.springframework.kafka.listener.ContainerProperties;
import org.springframework.kafka.listener.DeadLetterPublishingRecoverer;
import org.springframework.kafka.listener.DefaultErrorHandler;

/**
 * Topics, the producer's and the admin client's time limits, the span-job container (committed once a job is taken)
 * and the dead-letter handling.
 */
@Configuration(proxyBeanMethods = false)
class KafkaWiring {

  @Bean
  MessagingProperties messagingProperties(WorkerProperties properties) {
    return properties.messaging();
  }

  /**
   * The producer gives up within known times when the broker is away: a send waits at most {@code kafka-max-block}
   * for metadata or buffer room, and its result is known within {@code kafka-delivery-timeout}. Span events are sent
   * on a thread of their own ({@code SpanEventSender}), so neither ever holds up an engine step.
   */
  @Bean
  DefaultKafkaProducerFactoryCustomizer producerTimeouts(WorkerProperties p) {
    return factory -> factory.updateConfigs(Map.of(
        ProducerConfig.MAX_BLOCK_MS_CONFIG, p.kafkaMaxBlock().toMillis(),
        ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, (int) p.kafkaDeliveryTimeout().toMillis(),
        ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, (int) p.kafkaRequestTimeout().toMillis()));
  }

  /**
   * Spring Boot's admin, with time limits: creating the topics at start and the cluster id that the template's
   * tracing asks for give up after {@code kafka-admin-timeout} instead of a minute when the broker is away.
   */
  @Bean
  KafkaAdmin kafkaAdmin(KafkaProperties kafka, ObjectProvider<SslBundles> ssl, WorkerProperties p) {
    Map<String, Object> config = kafka.buildAdminProperties(ssl.getIfAvailable());
    int timeoutMs = (int) p.kafkaAdminTimeout().toMillis();
    config.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, Math.min(timeoutMs,
        (int) p.kafkaRequestTimeout().toMillis()));
    config.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, timeoutMs);
    KafkaAdmin admin = new KafkaAdmin(config);
    KafkaProperties.Admin settings = kafka.getAdmin();
    admin.setFatalIfBrokerNotAvailable(settings.isFailFast());
    admin.setAutoCreate(settings.isAutoCreate());
    admin.setModifyTopicConfigs(settings.isModifyTopicConfigs());
    admin.setOperationTimeout((int) Math.max(1, p.kafkaAdminTimeout().toSeconds()));
    admin.setCloseTimeout((int) Math.max(1, p.kafkaAdminTimeout().toSeconds()));
    return admin;
  }

  @Bean
  KafkaAdmin.NewTopics workerTopics(WorkerProperties p) {
    return new KafkaAdmin.NewTopics(
        topic(p.spanJobsTopic(), p.topicPartitions()),
        topic(p.spanEventsTopic(), p.topicPartitions()),
        topic(p.cancelTopic(), 1),
        topic(p.forkResultsTopic(), 1),
        topic(p.spanJobsTopic() + Topics.DEAD_LETTER_SUFFIX, p.topicPartitions()),
        topic(p.cancelTopic() + Topics.DEAD_LETTER_SUFFIX, 1),
        topic(p.forkResultsTopic() + Topics.DEAD_LETTER_SUFFIX, 1));
  }

  private static NewTopic topic(String name, int partitions) {
    return TopicBuilder.name(name).partitions(partitions).build();
  }

  /**
   * Unparseable messages go to the topic's dead-letter topic at once. Anything else (Redis away while a job is
   * taken: its recorded tokens cannot be read) is retried with a growing pause for about half a minute before
   * the job is dead-lettered, logged as it is.
   */
  @Bean
  DefaultErrorHandler kafkaErrorHandler(KafkaTemplate<String, String> template) {
    org.springframework.util.backoff.ExponentialBackOff backOff =
        new org.springframework.util.backoff.ExponentialBackOff(200, 2.0);
    backOff.setMaxInterval(5_000);
    backOff.setMaxElapsedTime(30_000);
    DefaultErrorHandler handler = new DefaultErrorHandler(new DeadLetterPublishingRecoverer(template,
        (record, e) -> {
          org.slf4j.LoggerFactory.getLogger(KafkaWiring.class).error("record {} of {} dead-lettered: {}",
              record.key(), record.topic(), e.getMessage());
          return new TopicPartition(record.topic() + Topics.DEAD_LETTER_SUFFIX, record.partition());
        }), backOff);
    handler.addNotRetryableExceptions(JsonProcessingException.class, IllegalArgumentException.class);
    return handler;
  }

  @Bean
  ConcurrentKafkaListenerContainerFactory<String, String> jobContainerFactory(
      ConsumerFactory<String, String> consumers, DefaultErrorHandler errorHandler) {
    ConcurrentKafkaListenerContainerFactory<String, String> factory = new ConcurrentKafkaListenerContainerFactory<>();
    factory.setConsumerFactory(consumers);
    factory.setCommonErrorHandler(errorHandler);
    // a job is committed once its request is claimed and handed to the engine; the request's lease in Redis, not
    // the offset, says who runs it (a dead worker's requests are handed out again by the interpreter)
    factory.getContainerProperties().setAckMode(ContainerProperties.AckMode.RECORD);
    // the trace context of the request travels in the record headers
    factory.getContainerProperties().setObservationEnabled(true);
    return factory;
  }
}
