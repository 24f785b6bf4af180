package io.pastaserve.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.pastaserve.common.messaging.RedisKeys;
import io.pastaserve.common.messaging.WorkerHeartbeat;
import io.pastaserve.testing.RedisTestServer;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalManagementPort;
import org.springframework.data.redis.core.StringRedisTemplate;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import org.springframework.test.web.reactive.server.WebTestClient;

/**
 * The broker is away (nothing listens where the gateway looks for it): enqueueing fails within its time limit
 * with 503, never retried, and after repeated failures the circuit breaker answers at once; the gateway's other
 * endpoints keep answering.
 */
@org.springframework.boot.test.autoconfigure.actuate.observability.AutoConfigureObservability
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, properties = {
    "pasta.gateway.model-dir=../models/pasta-tiny", "pasta.gateway.api-keys=k1",
    "pasta.gateway.enqueue-timeout=700ms", "spring.kafka.bootstrap-servers=127.0.0.1:9",
    "spring.kafka.admin.auto-create=false", "spring.kafka.producer.properties.max.block.ms=500"})
class GatewayWithoutBrokerTest {

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

  /** Health and metrics are on the management port. */
  @LocalManagementPort
  int managementPort;

  WebTestClient management() {
    return WebTestClient.bindToServer().baseUrl("http://127.0.0.1:" + managementPort).build();
  }

  @Autowired
  StringRedisTemplate redis;

  @Test
  void enqueueFailures_are503_andTheCircuitBreakerThenAnswersAtOnce() throws Exception {
    redis.opsForValue().set(RedisKeys.worker("w1"), new ObjectMapper().writeValueAsString(new WorkerHeartbeat(
        WorkerHeartbeat.VERSION, "w1", "pasta-tiny", 2048, "cpu", "test")), Duration.ofMinutes(1));
    org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> management().get()
        .uri("/actuator/health/readiness").exchange().expectStatus().isOk());
    String body = "{\"model\":\"pasta-tiny\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
    WebTestClient slow = client.mutate().responseTimeout(Duration.ofSeconds(30)).build();
    for (int i = 0; i < 5; i++) {
      slow.post().uri("/v1/chat/completions").header("Authorization", "Bearer k1")
          .header("Content-Type", "application/json").bodyValue(body).exchange()
          .expectStatus().isEqualTo(503)
          .expectBody().jsonPath("$.error.code").isEqualTo("queue_unavailable");
    }
    // the breaker is open now: the request is refused without trying the broker
    slow.post().uri("/v1/chat/completions").header("Authorization", "Bearer k1")
        .header("Content-Type", "application/json").bodyValue(body).exchange()
        .expectStatus().isEqualTo(503)
        .expectBody().jsonPath("$.error.code").isEqualTo("queue_unavailable")
        .jsonPath("$.error.message").value(m -> assertThat((String) m).contains("resting"));
    // sends stuck on the absent broker do not starve the rest: metrics still answer, and every refused request
    // gave its permit back
    management().get().uri("/actuator/prometheus").exchange().expectStatus().isOk().expectBody(String.class)
        .value(p -> assertThat(p).containsPattern("pasta_gateway_requests_running\\{[^}]*} 0\\.0"));
  }
}
