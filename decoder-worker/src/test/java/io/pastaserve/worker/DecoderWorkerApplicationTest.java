package io.pastaserve.worker;

import static org.assertj.core.api.Assertions.assertThat;

import io.pastaserve.worker.config.WorkerProperties;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.autoconfigure.actuate.observability.AutoConfigureObservability;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.kafka.test.context.EmbeddedKafka;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import org.springframework.test.web.reactive.server.WebTestClient;
import io.pastaserve.testing.RedisTestServer;
import org.junit.jupiter.api.AfterAll;

@AutoConfigureObservability
@EmbeddedKafka(kraft = true, partitions = 2, bootstrapServersProperty = "spring.kafka.bootstrap-servers")
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
    properties = {"pasta.worker.model-dir=src/test/resources/models/tiny-random", "pasta.worker.device=cpu",
        "pasta.worker.max-batch=4"})
class DecoderWorkerApplicationTest {

  static RedisTestServer redis;

  @DynamicPropertySource
  static void redisProperties(DynamicPropertyRegistry registry) throws Exception {
    redis = RedisTestServer.start();
    registry.add("spring.data.redis.port", redis::port);
  }

  @AfterAll
  static void stopRedis() {
    redis.close();
  }

  @Autowired
  WebTestClient client;

  @Autowired
  WorkerProperties properties;

  @Test
  void health_isUp_withTheModelLoaded_andEngineMetricsExposed() {
    client.get().uri("/actuator/health").exchange()
        .expectStatus().isOk()
        .expectBody().jsonPath("$.status").isEqualTo("UP")
        .jsonPath("$.components.model.status").isEqualTo("UP");
    // the scrape is larger than a test client's default buffer (256 KiB): histograms of every worker metric
    client.mutate().codecs(c -> c.defaultCodecs().maxInMemorySize(8 << 20)).build()
        .get().uri("/actuator/prometheus").exchange()
        .expectStatus().isOk()
        .expectBody(String.class).value(body -> assertThat(body).contains("pasta_engine_kv_tokens",
            "pasta_engine_requests_waiting", "pasta_engine_kv_usage", "pasta_request_queue_time_seconds_bucket", "pasta_engine_forks_total"));
    assertThat(properties.engineConfig().maxBatch()).isEqualTo(4);
  }
}
