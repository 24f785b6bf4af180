package io.pastaserve.interpreter;

import static org.assertj.core.api.Assertions.assertThat;

import io.pastaserve.common.lang.PastaLimits;
import io.pastaserve.interpreter.config.InterpreterProperties;
import io.pastaserve.testing.RedisTestServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.kafka.test.context.EmbeddedKafka;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import org.springframework.test.web.reactive.server.WebTestClient;

@EmbeddedKafka(kraft = true, partitions = 2, bootstrapServersProperty = "spring.kafka.bootstrap-servers")
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
    properties = "pasta.interpreter.max-spans=8")
class InterpreterApplicationTest {

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
  WebTestClient client;

  @Autowired
  InterpreterProperties properties;

  @Test
  void health_reportsTheRealRedisUp() {
    client.get().uri("/actuator/health").exchange()
        .expectStatus().isOk()
        .expectBody()
        .jsonPath("$.status").isEqualTo("UP")
        .jsonPath("$.components.redis.status").isEqualTo("UP");
  }

  /** What the workers' KEDA trigger reads (helm/pasta-serve: a metrics-api trigger on this path). */
  @Test
  void runningRequests_areServedWhereTheAutoscalerReadsThem() {
    client.get().uri("/actuator/metrics/pasta.requests.running").exchange()
        .expectStatus().isOk()
        .expectBody()
        .jsonPath("$.measurements[0].statistic").isEqualTo("VALUE")
        .jsonPath("$.measurements[0].value").isNumber();
  }

  /** How many running requests this instance keeps a view of: what shows that views do not pile up. */
  @Test
  void viewsOfRunningRequests_areMeasured() {
    client.get().uri("/actuator/metrics/pasta.interpreter.views").exchange()
        .expectStatus().isOk()
        .expectBody()
        .jsonPath("$.measurements[0].value").isEqualTo(0.0);
  }

  @Test
  void limits_bindFromConfiguration() {
    assertThat(properties.limits()).isEqualTo(new PastaLimits(8, 1, 64));
  }
}
