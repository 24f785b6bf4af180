package io.pastaserve.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import io.pastaserve.testing.RedisTestServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.springframework.boot.test.autoconfigure.actuate.observability.AutoConfigureObservability;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalManagementPort;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import org.springframework.test.web.reactive.server.WebTestClient;

/**
 * Health and metrics are served on the management port, which the API's Ingress and Service never route; the API
 * port answers none of {@code /actuator/**} (with or without a key), while the playground's page stays there.
 */
@AutoConfigureObservability
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, properties = {
    "pasta.gateway.model-dir=../models/pasta-tiny", "pasta.gateway.api-keys=mgmt-key",
    "spring.kafka.bootstrap-servers=127.0.0.1:9", "spring.kafka.admin.auto-create=false"})
class ManagementPortTest {

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

  @LocalServerPort
  int apiPort;

  @LocalManagementPort
  int managementPort;

  WebTestClient client(int port) {
    return WebTestClient.bindToServer().baseUrl("http://127.0.0.1:" + port).build();
  }

  @Test
  void theApiPort_answersNoActuatorEndpoint() {
    assertThat(managementPort).isNotEqualTo(apiPort);
    for (String path : new String[] {"/actuator", "/actuator/health", "/actuator/health/liveness",
        "/actuator/health/readiness", "/actuator/prometheus", "/actuator/info", "/actuator/metrics",
        "/livez", "/readyz"}) {
      client(apiPort).get().uri(path).exchange().expectStatus().value(s -> assertThat(s).as(path).isIn(401, 404));
      client(apiPort).get().uri(path).header("Authorization", "Bearer mgmt-key").exchange().expectStatus()
          .value(s -> assertThat(s).as(path + " with the key").isIn(401, 404));
    }
    client(apiPort).get().uri("/").exchange().expectStatus().isOk();
  }

  @Test
  void theManagementPort_servesHealthAndPrometheus() {
    client(managementPort).get().uri("/actuator/health/liveness").exchange().expectStatus().isOk();
    // no worker is alive: not ready, and it says so
    client(managementPort).get().uri("/actuator/health/readiness").exchange().expectStatus().isEqualTo(503);
    client(managementPort).get().uri("/actuator/prometheus").exchange().expectStatus().isOk()
        .expectBody(String.class).value(body -> assertThat(body).contains("pasta_gateway_requests_running"));
    // and nothing of the API, with or without a key
    client(managementPort).get().uri("/v1/models").exchange().expectStatus().isNotFound();
    client(managementPort).get().uri("/v1/models").header("Authorization", "Bearer mgmt-key").exchange()
        .expectStatus().isNotFound();
    client(managementPort).get().uri("/").exchange().expectStatus().isNotFound();
  }
}
