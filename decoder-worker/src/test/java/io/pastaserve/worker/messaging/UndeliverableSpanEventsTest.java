package io.pastaserve.worker.messaging;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.micrometer.core.instrument.MeterRegistry;
import io.pastaserve.common.messaging.DecodeSpanCommand;
import io.pastaserve.common.messaging.RedisKeys;
import io.pastaserve.common.messaging.Topics;
import io.pastaserve.common.request.Mode;
import io.pastaserve.common.request.Sampling;
import io.pastaserve.testing.KafkaBrokerProcess;
import io.pastaserve.testing.RedisTestServer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.data.redis.core.StringRedisTemplate;
import org.springframework.kafka.core.KafkaAdmin;
import org.springframework.kafka.core.KafkaTemplate;
import org.springframework.kafka.core.ProducerFactory;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/**
 * A worker whose span events the broker refuses (here: the span-events topic takes no record that large) does not
 * let the request end with a shortened answer, nor keep it: past {@code event-delivery-timeout} it stops the request
 * and sends its job again, for any worker to resume it. Real broker, real Redis, the worker's own wiring.
 */
@SpringBootTest(properties = {"pasta.worker.model-dir=src/test/resources/models/tiny-random",
    "pasta.worker.device=cpu", "pasta.worker.max-batch=4", "pasta.worker.topic-partitions=1",
    "pasta.worker.event-delivery-timeout=2s", "pasta.worker.kafka-delivery-timeout=2s",
    "pasta.worker.kafka-request-timeout=1s"})
class UndeliverableSpanEventsTest {

  static KafkaBrokerProcess broker;
  static RedisTestServer redisServer;

  @DynamicPropertySource
  static void servers(DynamicPropertyRegistry registry) throws Exception {
    broker = KafkaBrokerProcess.start(1);
    redisServer = RedisTestServer.start();
    try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers()))) {
      admin.createTopics(List.of(new NewTopic(Topics.SPAN_EVENTS, 1, (short) 1)
          .configs(Map.of("max.message.bytes", "64")))).all().get();
    }
    registry.add("spring.kafka.bootstrap-servers", broker::bootstrapServers);
    registry.add("spring.data.redis.port", redisServer::port);
  }

  @AfterAll
  static void stopServers() {
    if (redisServer != null) {
      redisServer.close();
    }
    if (broker != null) {
      broker.close();
    }
  }

  @Autowired
  KafkaTemplate<String, String> kafka;

  @Autowired
  StringRedisTemplate redis;

  @Autowired
  MessagingProperties properties;

  @Autowired
  MeterRegistry meters;

  @Autowired
  ObjectMapper json;

  @Autowired
  ProducerFactory<String, String> producers;

  @Autowired
  KafkaAdmin admin;

  @Test
  void aRequestWhoseEventsCannotBeSent_isStoppedHere_andItsJobSentAgain() throws Exception {
    String id = "refused-" + UUID.randomUUID();
    redis.opsForHash().putAll(RedisKeys.request(id), Map.of("status", "running", "worker", ""));
    redis.expire(RedisKeys.request(id), Duration.ofMinutes(5));
    String job = json.writeValueAsString(new DecodeSpanCommand(DecodeSpanCommand.VERSION, id, "0", "hello",
        new Sampling(0, 1, 0, 1L, 32, List.of()), Mode.ASYNC, 1, "", ""));
    kafka.send(properties.spanJobsTopic(), id, job).get();

    List<ConsumerRecord<String, String>> jobs = new ArrayList<>();
    try (KafkaConsumer<String, String> consumer = consumer(properties.spanJobsTopic())) {
      await("the job is sent again").atMost(Duration.ofSeconds(60)).until(() -> {
        consumer.poll(Duration.ofMillis(200)).forEach(jobs::add);
        return jobs.stream().filter(r -> r.key().equals(id)).count() >= 2;
      });
    }
    assertThat(jobs.stream().filter(r -> r.key().equals(id)).map(ConsumerRecord::value))
        .as("the same job, for a worker to resume").allMatch(job::equals);
    assertThat(meters.counter("pasta.worker.span.events.failed.requests").count()).isGreaterThanOrEqualTo(1);
    assertThat(redis.opsForHash().get(RedisKeys.request(id), "status")).isEqualTo("running");
  }

  /** The producer and the admin client give up within the worker's limits, not Kafka's defaults of a minute. */
  @Test
  void theProducerAndTheAdmin_takeTheWorkersTimeLimits() {
    Map<String, Object> producer = producers.getConfigurationProperties();
    assertThat(producer.get(ProducerConfig.MAX_BLOCK_MS_CONFIG)).isEqualTo(3_000L);
    assertThat(producer.get(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG)).isEqualTo(2_000);
    assertThat(producer.get(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG)).isEqualTo(1_000);
    assertThat(admin.getOperationTimeout()).isEqualTo(5);
    assertThat(admin.getConfigurationProperties().get(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG))
        .isEqualTo(5_000);
  }

  private KafkaConsumer<String, String> consumer(String topic) {
    Properties p = new Properties();
    p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers());
    p.put(ConsumerConfig.GROUP_ID_CONFIG, "test-" + UUID.randomUUID());
    p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    KafkaConsumer<String, String> consumer = new KafkaConsumer<>(p, new StringDeserializer(),
        new StringDeserializer());
    consumer.subscribe(List.of(topic));
    return consumer;
  }
}
