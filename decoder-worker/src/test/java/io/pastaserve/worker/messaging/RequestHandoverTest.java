package io.pastaserve.worker.messaging;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.pastaserve.common.messaging.RedisKeys;
import io.pastaserve.testing.KafkaBrokerProcess;
import io.pastaserve.testing.RedisTestClient;
import java.time.Duration;
import java.util.Map;
import java.util.UUID;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.springframework.data.redis.core.StringRedisTemplate;
import org.springframework.kafka.core.DefaultKafkaProducerFactory;
import org.springframework.kafka.core.KafkaTemplate;

/**
 * A request handed to another worker long after it was first dispatched: the interpreter's watchdog counts the claim
 * bound from the request's {@code dispatched} time, so the handover sets it when it sends the job again — otherwise
 * the watchdog takes the job, unclaimed for a moment, for one lost long ago and sends a second copy.
 */
class RequestHandoverTest {

  static KafkaBrokerProcess broker;
  static RedisTestClient client;
  static StringRedisTemplate redis;
  static DefaultKafkaProducerFactory<String, String> producers;

  @BeforeAll
  static void start() throws Exception {
    broker = KafkaBrokerProcess.start(1);
    client = RedisTestClient.start();
    redis = client.template();
    producers = new DefaultKafkaProducerFactory<>(Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG,
        broker.bootstrapServers(), ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class,
        ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class));
  }

  @AfterAll
  static void stop() {
    producers.destroy();
    client.close();
    broker.close();
  }

  @Test
  void aRequestHandedOver_countsAsDispatchedNow_soTheWatchdogDoesNotSendItAgain() {
    String id = "r-" + UUID.randomUUID();
    long longAgo = System.currentTimeMillis() - Duration.ofHours(1).toMillis();
    redis.opsForHash().putAll(RedisKeys.request(id), Map.of("status", "running", "worker", "w-1",
        "dispatched", Long.toString(longAgo)));
    redis.expire(RedisKeys.request(id), Duration.ofMinutes(5));
    RequestHandover handover = new RequestHandover(new RequestLeases(redis, "w-1"), redis, new KafkaTemplate<>(producers),
        "pasta.span-jobs");
    handover.add(id, "{\"job\":\"" + id + "\"}");
    long before = System.currentTimeMillis();
    handover.attempt(r -> false);
    await().untilAsserted(() -> assertThat(redis.opsForHash().get(RedisKeys.request(id), "worker")).isEqualTo(""));
    assertThat(Long.parseLong((String) redis.opsForHash().get(RedisKeys.request(id), "dispatched")))
        .isGreaterThanOrEqualTo(before);
  }
}
