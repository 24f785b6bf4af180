package io.pastaserve.worker.config;

import com.fasterxml.jackson.core.JsonProcessingException;
import io.pastaserve.common.messaging.Topics;
import io.pastaserve.worker.messaging.MessagingProperties;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.TopicPartition;
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
import org.springframework.util.backoff.FixedBackOff;

/** Topics, the span-job container (acknowledged when the request ends) and the dead-letter handling. */
@Configuration(proxyBeanMethods = false)
class KafkaWiring {

  @Bean
  MessagingProperties messagingProperties(WorkerProperties properties) {
    return properties.messaging();
  }

  @Bean
  KafkaAdmin.NewTopics workerTopics(WorkerProperties p) {
    return new KafkaAdmin.NewTopics(
        topic(p.spanJobsTopic(), p.topicPartitions()),
        topic(p.spanEventsTopic(), p.topicPartitions()),
        topic(p.cancelTopic(), 1),
        topic(p.spanJobsTopic() + Topics.DEAD_LETTER_SUFFIX, p.topicPartitions()),
        topic(p.cancelTopic() + Topics.DEAD_LETTER_SUFFIX, 1));
  }

  private static NewTopic topic(String name, int partitions) {
    return TopicBuilder.name(name).partitions(partitions).build();
  }

  /** Unparseable messages go to the topic's dead-letter topic at once; nothing else is retried here. */
  @Bean
  DefaultErrorHandler kafkaErrorHandler(KafkaTemplate<String, String> template) {
    DefaultErrorHandler handler = new DefaultErrorHandler(new DeadLetterPublishingRecoverer(template,
        (record, e) -> new TopicPartition(record.topic() + Topics.DEAD_LETTER_SUFFIX, record.partition())),
        new FixedBackOff(0L, 0L));
    handler.addNotRetryableExceptions(JsonProcessingException.class, IllegalArgumentException.class);
    return handler;
  }

  @Bean
  ConcurrentKafkaListenerContainerFactory<String, String> jobContainerFactory(
      ConsumerFactory<String, String> consumers, DefaultErrorHandler errorHandler) {
    ConcurrentKafkaListenerContainerFactory<String, String> factory = new ConcurrentKafkaListenerContainerFactory<>();
    factory.setConsumerFactory(consumers);
    factory.setCommonErrorHandler(errorHandler);
    factory.getContainerProperties().setAckMode(ContainerProperties.AckMode.MANUAL);
    // jobs are acknowledged out of order, when their requests end; offsets are committed in order
    factory.getContainerProperties().setAsyncAcks(true);
    // the trace context of the request travels in the record headers
    factory.getContainerProperties().setObservationEnabled(true);
    return factory;
  }
}
