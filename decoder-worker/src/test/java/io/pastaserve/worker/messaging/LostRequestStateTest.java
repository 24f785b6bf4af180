package io.pastaserve.worker.messaging;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.pastaserve.common.messaging.DecodeSpanCommand;
import io.pastaserve.common.messaging.RedisKeys;
import io.pastaserve.common.messaging.RequestFinishedEvent;
import io.pastaserve.common.messaging.SpanEventEnvelope;
import io.pastaserve.common.request.FinishReason;
import io.pastaserve.common.request.Mode;
import io.pastaserve.common.request.Sampling;
import io.pastaserve.testing.KafkaBrokerProcess;
import io.pastaserve.testing.RedisTestServer;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.data.redis.core.StringRedisTemplate;
import org.springframework.kafka.core.KafkaTemplate;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/**
 * A worker meets a job whose request Redis no longer knows (Redis restarted without persistence): the request ends
 * at once with an error the interpreter streams to the client, instead of the job being dropped as if the request
 * had ended. Real broker, real Redis, the worker's own Spring wiring.
 */
@SpringBootTest(properties = {"pasta.worker.model-dir=src/test/resources/models/tiny-random",
    "pasta.worker.device=cpu", "pasta.worker.max-batch=4", "pasta.worker.topic-partitions=1"})
class LostRequestStateTest {

  static KafkaBrokerProcess broker;
  static RedisTestServer redisServer;

  @DynamicPropertySource
  static void servers(DynamicPropertyRegistry registry) throws Exception {
    broker = KafkaBrokerProcess.start(1);
    redisServer = RedisTestServer.start();
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
  ObjectMapper json;

  @Test
  void aJobWhoseRequestStateWasLost_endsTheRequestWithAnError_whileAnEndedRequestsJobIsDropped() throws Exception {
    String lost = "lost-" + UUID.randomUUID();
    String ended = "ended-" + UUID.randomUUID();
    // as the interpreter records it, then Redis restarts without persistence: the running request's state is gone
    redis.opsForHash().putAll(RedisKeys.request(lost), Map.of("status", "running", "worker", ""));
    redisServer.kill();
    redisServer.launch();
    // a request that ended since, whose job is delivered again
    redis.opsForHash().putAll(RedisKeys.request(ended), Map.of("status", "finished", "worker", ""));
    redis.expire(RedisKeys.request(ended), Duration.ofMinutes(5));

    List<SpanEventEnvelope> events = new CopyOnWriteArrayList<>();
    try (KafkaConsumer<String, String> consumer = consumer()) {
      // one partition: the worker takes the ended request's job before the lost one's
      kafka.send(properties.spanJobsTopic(), ended, job(ended)).get();
      kafka.send(properties.spanJobsTopic(), lost, job(lost)).get();
      await().atMost(Duration.ofSeconds(60)).until(() -> {
        for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(200))) {
          events.add(json.readValue(r.value(), SpanEventEnvelope.class));
        }
        return finished(events, lost).isPresent();
      });
    }
    RequestFinishedEvent error = finished(events, lost).orElseThrow();
    assertThat(error.finishReason()).isEqualTo(FinishReason.ERROR);
    assertThat(error.error()).contains("state").contains("Redis");
    assertThat(events).as("the ended request's job is dropped without a word")
        .noneMatch(e -> e.finished() != null && e.finished().requestId().equals(ended));
    assertThat(redis.keys("pasta:{" + lost + "}*")).as("the worker recreates none of the lost request's keys")
        .isEmpty();
  }

  private static Optional<RequestFinishedEvent> finished(List<SpanEventEnvelope> events, String id) {
    return events.stream().filter(e -> e.finished() != null && e.finished().requestId().equals(id))
        .map(SpanEventEnvelope::finished).findFirst();
  }

  private String job(String id) throws Exception {
    return json.writeValueAsString(new DecodeSpanCommand(DecodeSpanCommand.VERSION, id, "0", "hello",
        new Sampling(0, 1, 0, 1L, 16, List.of()), Mode.ASYNC, 1, "", ""));
  }

  private KafkaConsumer<String, String> consumer() {
    Properties p = new Properties();
    p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers());
    p.put(ConsumerConfig.GROUP_ID_CONFIG, "test-" + UUID.randomUUID());
    p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    KafkaConsumer<String, String> consumer = new KafkaConsumer<>(p, new StringDeserializer(),
        new StringDeserializer());
    consumer.subscribe(List.of(properties.spanEventsTopic()));
    return consumer;
  }
}
