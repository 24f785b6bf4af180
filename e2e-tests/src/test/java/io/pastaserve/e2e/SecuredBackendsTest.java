package io.pastaserve.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import io.pastaserve.gateway.GatewayApplication;
import io.pastaserve.interpreter.InterpreterApplication;
import io.pastaserve.testing.KafkaBrokerProcess;
import io.pastaserve.testing.RedisTestServer;
import io.pastaserve.worker.DecoderWorkerApplication;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.data.redis.connection.lettuce.LettuceConnectionFactory;

/**
 * The suite against backends secured as in production: Redis that admits only an ACL user with a password, and
 * a Kafka broker whose listener needs SASL/PLAIN. Every service connects with the credentials from configuration
 * alone, and an answer comes back; without them, neither backend lets a client in.
 */
class SecuredBackendsTest {

  static final String KEY = "secured-key";
  static KafkaBrokerProcess kafka;
  static RedisTestServer redis;
  static final List<ConfigurableApplicationContext> apps = new ArrayList<>();

  @BeforeAll
  static void start() throws Exception {
    kafka = KafkaBrokerProcess.startWithSasl(4, "pasta", "kafka-secret");
    redis = RedisTestServer.startWithAcl("pasta", "redis-secret");
    String[] shared = {
        "spring.config.name=pasta-e2e", "server.port=0", "spring.main.banner-mode=off",
        "spring.kafka.bootstrap-servers=" + kafka.bootstrapServers(),
        "spring.kafka.properties.security.protocol=SASL_PLAINTEXT",
        "spring.kafka.properties.sasl.mechanism=PLAIN",
        "spring.kafka.properties.sasl.jaas.config=" + KafkaBrokerProcess.plainJaas("pasta", "kafka-secret"),
        "spring.kafka.consumer.auto-offset-reset=earliest", "spring.kafka.producer.acks=all",
        "spring.data.redis.port=" + redis.port(), "spring.data.redis.username=pasta",
        "spring.data.redis.password=redis-secret", "logging.level.ai.djl=error",
        "logging.level.org.apache.kafka=warn", "management.endpoints.web.exposure.include=health",
        "pasta.worker.topic-partitions=4", "pasta.interpreter.topic-partitions=4",
        "pasta.gateway.topic-partitions=4", "management.endpoint.health.probes.enabled=true"};
    apps.add(new SpringApplicationBuilder(InterpreterApplication.class).properties(shared).run());
    apps.add(new SpringApplicationBuilder(DecoderWorkerApplication.class).properties(shared)
        .properties("pasta.worker.model-dir=" + Suite.MODEL, "pasta.worker.device=cpu").run());
    apps.add(new SpringApplicationBuilder(GatewayApplication.class).web(WebApplicationType.REACTIVE)
        .properties(shared).properties("pasta.gateway.model-dir=" + Suite.MODEL, "pasta.gateway.api-keys=" + KEY,
            "management.server.port=0", "management.endpoint.health.group.readiness.include=readinessState,workers")
        .run());
  }

  @AfterAll
  static void stop() {
    for (int i = apps.size() - 1; i >= 0; i--) {
      apps.get(i).close();
    }
    if (redis != null) {
      redis.close();
    }
    if (kafka != null) {
      kafka.close();
    }
  }

  @Test
  void everyService_worksThroughRedisAclAndKafkaSasl() throws Exception {
    String base = "http://127.0.0.1:" + apps.get(2).getEnvironment().getProperty("local.server.port");
    String management = "http://127.0.0.1:" + apps.get(2).getEnvironment().getProperty("local.management.port");
    HttpClient http = HttpClient.newHttpClient();
    await().atMost(Duration.ofSeconds(60)).until(() -> http.send(HttpRequest.newBuilder(
        URI.create(management + "/actuator/health/readiness")).build(), HttpResponse.BodyHandlers.ofString())
        .statusCode() == 200);
    HttpResponse<String> response = http.send(HttpRequest.newBuilder(URI.create(base + "/v1/chat/completions"))
        .header("Authorization", "Bearer " + KEY).header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"pasta-tiny\",\"temperature\":0,\"max_tokens\":300,"
            + "\"messages\":[{\"role\":\"user\",\"content\":\"Give me 3 tips for better sleep.\"}]}"))
        .timeout(Duration.ofSeconds(60)).build(), HttpResponse.BodyHandlers.ofString());
    assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
    JsonNode answer = Suite.JSON.readTree(response.body());
    assertThat(answer.path("choices").get(0).path("message").path("content").asText()).isNotBlank();
    assertThat(answer.path("usage").path("completion_tokens").asInt()).isPositive();
  }

  @Test
  void withoutCredentials_neitherBackendLetsAClientIn() {
    LettuceConnectionFactory anonymous = new LettuceConnectionFactory("127.0.0.1", redis.port());
    anonymous.afterPropertiesSet();
    anonymous.start();
    try {
      assertThatThrownBy(() -> anonymous.getConnection().ping()).isInstanceOf(RuntimeException.class);
    } finally {
      anonymous.destroy();
    }
    try (Admin admin = Admin.create(Map.of("bootstrap.servers", kafka.bootstrapServers(),
        "request.timeout.ms", 3000, "default.api.timeout.ms", 5000))) {
      assertThatThrownBy(() -> admin.listTopics().names().get(10, TimeUnit.SECONDS)).isInstanceOf(Exception.class);
    }
  }
}
