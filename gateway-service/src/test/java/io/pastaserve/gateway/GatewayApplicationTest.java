package io.pastaserve.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.pastaserve.common.messaging.GenerateCommand;
import io.pastaserve.common.messaging.RedisKeys;
import io.pastaserve.common.messaging.Topics;
import io.pastaserve.common.messaging.WorkerHeartbeat;
import io.pastaserve.gateway.config.GatewayProperties;
import io.pastaserve.testing.RedisTestServer;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.autoconfigure.actuate.observability.AutoConfigureObservability;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.data.redis.core.StringRedisTemplate;
import org.springframework.kafka.test.EmbeddedKafkaBroker;
import org.springframework.kafka.test.context.EmbeddedKafka;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import org.springframework.test.web.reactive.server.WebTestClient;

/**
 * The gateway on its own, over a real Redis and a real (embedded KRaft) broker, with no interpreter and no worker
 * behind it: what it decides by itself — keys, readiness from worker heartbeats, per-key rate limits, 503 without a
 * worker, the command it enqueues, and the deadline when nothing answers.
 */
@AutoConfigureObservability
@EmbeddedKafka(kraft = true, partitions = 2, bootstrapServersProperty = "spring.kafka.bootstrap-servers")
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, properties = {
    "pasta.gateway.model-dir=../models/pasta-tiny", "pasta.gateway.api-keys=k1,k2",
    "pasta.gateway.rate-limit-requests=2", "pasta.gateway.rate-limit-period=1m"})
class GatewayApplicationTest {

  static RedisTestServer redisServer;

  @DynamicPropertySource
  static void redisProperties(DynamicPropertyRegistry registry) throws Exception {
    redisServer = RedisTestServer.start();
    registry.add("spring.data.redis.port", redisServer::port);
  }

  @AfterAll
  static void stopRedis() {
    redisServer.close();
  }

  @Autowired
  WebTestClient client;

  @Autowired
  GatewayProperties properties;

  @Autowired
  StringRedisTemplate redis;

  @Autowired
  EmbeddedKafkaBroker broker;

  final ObjectMapper json = new ObjectMapper();

  @AfterEach
  void noWorker() {
    redis.delete(RedisKeys.worker("w1"));
  }

  void heartbeat() throws Exception {
    redis.opsForValue().set(RedisKeys.worker("w1"), json.writeValueAsString(new WorkerHeartbeat(
        WorkerHeartbeat.VERSION, "w1", "pasta-tiny", 2048, "cpu", "test")), Duration.ofSeconds(30));
  }

  String chat(String key, String extra) {
    return "{\"model\":\"pasta-tiny\",\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}],\"seed\":5,"
        + "\"temperature\":0.5,\"max_tokens\":40" + extra + "}";
  }

  @Test
  void liveness_isUp_readinessWaitsForALiveWorker() throws Exception {
    client.get().uri("/actuator/health/liveness").exchange().expectStatus().isOk();
    await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> client.get().uri("/actuator/health/readiness")
        .exchange().expectStatus().isEqualTo(503));
    heartbeat();
    await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> client.get().uri("/actuator/health/readiness")
        .exchange().expectStatus().isOk());
    client.get().uri("/v1/models").header("Authorization", "Bearer k2").exchange().expectStatus().isOk()
        .expectBody().jsonPath("$.data[0].live_workers").isEqualTo(1);
    redis.delete(RedisKeys.worker("w1"));
    await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> client.get().uri("/actuator/health/readiness")
        .exchange().expectStatus().isEqualTo(503));
  }

  @Test
  void withoutALiveWorker_requestsAre503_andEachKeyIsRateLimited() {
    await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> client.get().uri("/actuator/health/readiness")
        .exchange().expectStatus().isEqualTo(503));
    for (int i = 0; i < 2; i++) {
      client.post().uri("/v1/chat/completions").header("Authorization", "Bearer k1")
          .header("Content-Type", "application/json").bodyValue(chat("k1", "")).exchange()
          .expectStatus().isEqualTo(503)
          .expectBody().jsonPath("$.error.code").isEqualTo("no_worker");
    }
    client.post().uri("/v1/chat/completions").header("Authorization", "Bearer k1")
        .header("Content-Type", "application/json").bodyValue(chat("k1", "")).exchange()
        .expectStatus().isEqualTo(429)
        .expectHeader().exists("Retry-After")
        .expectBody().jsonPath("$.error.code").isEqualTo("rate_limit_exceeded")
        .jsonPath("$.error.type").isEqualTo("rate_limit_error");
    // another key has its own limit
    client.post().uri("/v1/chat/completions").header("Authorization", "Bearer k2")
        .header("Content-Type", "application/json").bodyValue(chat("k2", "")).exchange()
        .expectStatus().isEqualTo(503);
  }

  @Test
  void anAdmittedRequest_isEnqueuedForTheInterpreter_andTimesOutWhenNothingAnswers() throws Exception {
    heartbeat();
    await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> client.get().uri("/actuator/health/readiness")
        .exchange().expectStatus().isOk());
    client.post().uri("/v1/chat/completions").header("Authorization", "Bearer k2")
        .header("Content-Type", "application/json")
        .bodyValue(chat("k2", ",\"stop\":[\"zz\"],\"pasta\":{\"mode\":\"serial\",\"timeout_ms\":1500}")).exchange()
        .expectStatus().isEqualTo(504)
        .expectBody().jsonPath("$.error.code").isEqualTo("deadline_exceeded");
    try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(Map.of(
        "bootstrap.servers", broker.getBrokersAsString(), "group.id", "check", "auto.offset.reset", "earliest",
        "key.deserializer", StringDeserializer.class, "value.deserializer", StringDeserializer.class))) {
      consumer.subscribe(List.of(Topics.REQUESTS, Topics.CANCEL));
      List<ConsumerRecord<String, String>> seen = new java.util.ArrayList<>();
      await().atMost(Duration.ofSeconds(20)).until(() -> {
        consumer.poll(Duration.ofMillis(200)).forEach(seen::add);
        return seen.stream().anyMatch(r -> r.topic().equals(Topics.CANCEL));
      });
      ConsumerRecord<String, String> request = seen.stream().filter(r -> r.topic().equals(Topics.REQUESTS))
          .findFirst().orElseThrow();
      GenerateCommand command = json.readValue(request.value(), GenerateCommand.class);
      assertThat(request.key()).isEqualTo(command.requestId()).startsWith("chatcmpl-");
      assertThat(command.prompt()).isEqualTo("hello");
      assertThat(command.mode()).isEqualTo("serial");
      assertThat(command.sampling().seed()).isEqualTo(5);
      assertThat(command.sampling().temperature()).isEqualTo(0.5);
      assertThat(command.sampling().maxTokens()).isEqualTo(40);
      assertThat(command.sampling().stop()).containsExactly("zz");
      JsonNode cancel = json.readTree(seen.stream().filter(r -> r.topic().equals(Topics.CANCEL)).findFirst()
          .orElseThrow().value());
      assertThat(cancel.path("requestId").asText()).isEqualTo(command.requestId());
    }
  }

  @Test
  void prometheus_isExposed_andPropertiesBind() {
    client.get().uri("/actuator/prometheus").exchange().expectStatus().isOk()
        .expectBody(String.class).value(body -> assertThat(body).contains("pasta_time_to_first_token_seconds",
            "pasta_gateway_requests_running"));
    assertThat(properties.servedModelName()).isEqualTo("pasta-tiny");
    assertThat(properties.maxBodyBytes()).isEqualTo(1_048_576);
    assertThat(properties.authEnabled()).isTrue();
  }
}
