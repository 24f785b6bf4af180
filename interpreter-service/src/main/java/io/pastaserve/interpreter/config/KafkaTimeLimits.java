package io.pastaserve.interpreter.config;

import java.util.Map;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.kafka.DefaultKafkaProducerFactoryCustomizer;
import org.springframework.boot.autoconfigure.kafka.KafkaProperties;
import org.springframework.boot.ssl.SslBundles;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.kafka.core.KafkaAdmin;

/**
 * The producer's and the admin client's time limits: with the broker away, a send gives up within
 * {@code kafka-max-block} (instead of a minute waiting for metadata) and its result is known within
 * {@code kafka-delivery-timeout}, so neither a consumer thread nor the lease watchdog's thread waits unbounded.
 */
@Configuration(proxyBeanMethods = false)
class KafkaTimeLimits {

  @Bean
  DefaultKafkaProducerFactoryCustomizer producerTimeLimits(InterpreterProperties p) {
    return factory -> factory.updateConfigs(Map.of(
        ProducerConfig.MAX_BLOCK_MS_CONFIG, p.kafkaMaxBlock().toMillis(),
        ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, (int) p.kafkaDeliveryTimeout().toMillis(),
        ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, (int) p.kafkaRequestTimeout().toMillis()));
  }

  /**
   * Spring Boot's admin, with time limits: creating the topics at start and the cluster id that the template's
   * tracing asks for give up after {@code kafka-admin-timeout} when the broker is away.
   */
  @Bean
  KafkaAdmin kafkaAdmin(KafkaProperties kafka, ObjectProvider<SslBundles> ssl, InterpreterProperties p) {
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
}
