package io.pastaserve.interpreter;

import static org.assertj.core.api.Assertions.assertThat;

import io.pastaserve.testing.RedisTestServer;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.kafka.core.KafkaAdmin;
import org.springframework.kafka.core.ProducerFactory;
import org.springframework.kafka.test.context.EmbeddedKafka;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/**
 * The interpreter's Kafka clients give up within the configured times when the broker is away: a send that waits for
 * metadata does not hold the watchdog's thread (or a consumer's) for the client's default minute.
 */
@EmbeddedKafka(kraft = true, partitions = 2, bootstrapServersProperty = "spring.kafka.bootstrap-servers")
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.NONE, properties = {
    "pasta.interpreter.kafka-max-block=1500ms", "pasta.interpreter.kafka-request-timeout=4s",
    "pasta.interpreter.kafka-delivery-timeout=20s", "pasta.interpreter.kafka-admin-timeout=3s"})
class KafkaTimeLimitsTest {

  static RedisTestServer redis;

  @DynamicPropertySource
  static void redisProperties(DynamicPropertyRegistry registry) throws Exception {
    redis = RedisTestServer.start();
    registry.add("spring.data.redis.port", redis::port);
  }

  @AfterAll
  static void stopRedis() {
    if (redis != null) {
      redis.close();
    }
  }

  @Autowired
  ProducerFactory<String, String> producers;

  @Autowired
  KafkaAdmin admin;

  @Test
  void theProducer_givesUpWithinTheConfiguredTimes() {
    assertThat(producers.getConfigurationProperties())
        .containsEntry(ProducerConfig.MAX_BLOCK_MS_CONFIG, 1500L)
        .containsEntry(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, 4000)
        .containsEntry(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 20000);
  }

  @Test
  void theAdmin_givesUpWithinTheConfiguredTime() {
    assertThat(admin.getConfigurationProperties())
        .containsEntry(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 3000)
        .containsEntry(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 3000);
  }
}
