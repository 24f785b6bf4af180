package io.pastaserve.worker;

import static org.assertj.core.api.Assertions.assertThat;

import io.pastaserve.worker.config.WorkerProperties;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.test.web.reactive.server.WebTestClient;

@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
class DecoderWorkerApplicationTest {

  @Autowired
  WebTestClient client;

  @Autowired
  WorkerProperties properties;

  @Test
  void health_isUp() {
    client.get().uri("/actuator/health").exchange()
        .expectStatus().isOk()
        .expectBody().jsonPath("$.status").isEqualTo("UP");
    assertThat(properties.modelDir()).isEqualTo("models/pasta-tiny");
  }
}
