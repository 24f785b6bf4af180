package io.pastaserve.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import io.pastaserve.gateway.config.GatewayProperties;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.autoconfigure.actuate.observability.AutoConfigureObservability;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.test.web.reactive.server.WebTestClient;

@AutoConfigureObservability
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
class GatewayApplicationTest {

  @Autowired
  WebTestClient client;

  @Autowired
  GatewayProperties properties;

  @Test
  void health_isUp_andPrometheusIsExposed() {
    client.get().uri("/actuator/health").exchange()
        .expectStatus().isOk()
        .expectBody().jsonPath("$.status").isEqualTo("UP");
    client.get().uri("/actuator/health/readiness").exchange().expectStatus().isOk();
    client.get().uri("/actuator/prometheus").exchange()
        .expectStatus().isOk()
        .expectBody(String.class).value(body -> assertThat(body).contains("jvm_memory_used_bytes"));
  }

  @Test
  void properties_bindWithDefaults() {
    assertThat(properties.modelName()).isEqualTo("pasta-tiny");
    assertThat(properties.maxBodyBytes()).isEqualTo(1_048_576);
  }
}
