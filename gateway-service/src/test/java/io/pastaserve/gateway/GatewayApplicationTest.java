package io.pastaserve.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.pastaserve.common.messaging.GenerateCommand;
import io.pastaserve.common.messaging.RedisKeys;
import io.pastaserve.common.messaging.Topics;
import io.pastaserve.common.messaging.WorkerHeartbeat;
import io.pastaserve.common.request.Mode;
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
import org.springframework.boot.test.web.server.LocalManagementPort;
import org.springframework.data.redis.core.StringRedisTemplate;
import org.springframework.kafka.test.EmbeddedKafkaBroker;
import org.springframework.kafka.test.context.EmbeddedKafka;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import org.springframework.test.web.reactive.server.WebTestClient;

/**
 * The gateway on its own, over a real Redis and a real (embedded KRaft) broker, with no interpreter and no worker
 * behind it: what it decides by itself — keys, readiness from worker heartbeats, 503 without a worker, the command
 * it enqueues, and the deadline when nothing answers. Rate limits are off here, so that the fuzzed bodies all reach
 * the parser.
 */
@AutoConfigureObservability
@EmbeddedKafka(kraft = true, partitions = 2, bootstrapServersProperty = "spring.kafka.bootstrap-servers")
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, properties = {
    "pasta.gateway.model-dir=../models/pasta-tiny", "pasta.gateway.api-keys=k1,k2,k3",
    "pasta.gateway.rate-limit-requests=0"})
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

  /** Health and metrics are on the management port. */
  @LocalManagementPort
  int managementPort;

  WebTestClient management() {
    return WebTestClient.bindToServer().baseUrl("http://127.0.0.1:" + managementPort).build();
  }

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
    management().get().uri("/actuator/health/liveness").exchange().expectStatus().isOk();
    await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> management().get().uri("/actuator/health/readiness")
        .exchange().expectStatus().isEqualTo(503));
    heartbeat();
    await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> management().get().uri("/actuator/health/readiness")
        .exchange().expectStatus().isOk());
    client.get().uri("/v1/models").header("Authorization", "Bearer k2").exchange().expectStatus().isOk()
        .expectBody().jsonPath("$.data[0].live_workers").isEqualTo(1);
    redis.delete(RedisKeys.worker("w1"));
    await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> management().get().uri("/actuator/health/readiness")
        .exchange().expectStatus().isEqualTo(503));
  }

  /** Per-key rate limits, checked before the body is read, are tested in {@link AdmissionBeforeTheBodyTest}. */
  @Test
  void withoutALiveWorker_requestsAre503() {
    await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> management().get().uri("/actuator/health/readiness")
        .exchange().expectStatus().isEqualTo(503));
    for (String key : new String[] {"k1", "k2"}) {
      client.post().uri("/v1/chat/completions").header("Authorization", "Bearer " + key)
          .header("Content-Type", "application/json").bodyValue(chat(key, "")).exchange()
          .expectStatus().isEqualTo(503)
          .expectBody().jsonPath("$.error.code").isEqualTo("no_worker");
    }
  }

  @Test
  void anAdmittedRequest_isEnqueuedForTheInterpreter_andTimesOutWhenNothingAnswers() throws Exception {
    heartbeat();
    await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> management().get().uri("/actuator/health/readiness")
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
      assertThat(command.mode()).isEqualTo(Mode.SERIAL);
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
    management().get().uri("/actuator/prometheus").exchange().expectStatus().isOk()
        .expectBody(String.class).value(body -> assertThat(body).contains("pasta_time_to_first_token_seconds",
            "pasta_gateway_requests_running"));
    assertThat(properties.servedModelName()).isEqualTo("pasta-tiny");
    assertThat(properties.maxBodyBytes()).isEqualTo(1_048_576);
    assertThat(properties.authEnabled()).isTrue();
  }

  /**
   * Random and mutated bodies — broken JSON, invalid UTF-8, wrong types, absurd numbers, deep nesting, huge
   * strings: every one gets a 4xx with the OpenAI envelope (or, when a mutation happens to be a valid request,
   * the 503 that says no worker is alive, or 429 once its key's rate limit is spent), never another 5xx, and the
   * gateway keeps serving. Its own key, so the other tests' rate limits are untouched.
   */
  @Test
  void fuzzedBodies_get4xxWithTheEnvelope_neverA5xx() {
    java.util.Random random = new java.util.Random(20261125);
    String valid = chat("k2", ",\"stream\":false,\"stop\":[\"a\"],\"top_p\":0.9,\"pasta\":{\"mode\":\"serial\"}}")
        .replaceAll("}}$", "}");
    String[] absurd = {"null", "true", "-1", "0", "1e309", "-1e309", "99999999999999999999999", "1.5", "\"\"",
        "\"x\"", "[]", "{}", "[1,2,3]", "{\"a\":1}", "\"\\u0000\"", "\"\\ud800\"", "-0", "3.4028235e38"};
    String[] fields = {"model", "messages", "prompt", "max_tokens", "max_completion_tokens", "temperature", "top_p",
        "seed", "stop", "n", "stream", "stream_options", "user", "pasta", "tools", "logprobs"};
    int cases = 0;
    for (int i = 0; i < 400; i++) {
      byte[] body;
      switch (i % 5) {
        case 0 -> { // random bytes, often invalid UTF-8
          body = new byte[random.nextInt(200)];
          random.nextBytes(body);
        }
        case 1 -> { // character-level mutations of a valid body
          StringBuilder sb = new StringBuilder(valid);
          for (int m = 0; m < 1 + random.nextInt(4); m++) {
            int at = random.nextInt(sb.length());
            switch (random.nextInt(3)) {
              case 0 -> sb.deleteCharAt(at);
              case 1 -> {
                String alphabet = "{}[]\":,\\0e-x\u00e9\u4e2d";
                sb.insert(at, alphabet.charAt(random.nextInt(alphabet.length())));
              }
              default -> sb.setCharAt(at, (char) (32 + random.nextInt(95)));
            }
          }
          body = sb.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8);
        }
        case 2 -> { // a field replaced by an absurd value
          String field = fields[random.nextInt(fields.length)];
          String value = absurd[random.nextInt(absurd.length)];
          body = ("{\"model\":\"pasta-tiny\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\""
              + field + "\":" + value + "}").replace("\"" + field + "\":" + value + "}", "\"" + field + "\":" + value
              + "}").getBytes(java.nio.charset.StandardCharsets.UTF_8);
          if (field.equals("model") || field.equals("messages")) {
            body = ("{\"model\":" + (field.equals("model") ? value : "\"pasta-tiny\"") + ",\"messages\":"
                + (field.equals("messages") ? value : "[{\"role\":\"user\",\"content\":\"hi\"}]") + "}")
                .getBytes(java.nio.charset.StandardCharsets.UTF_8);
          }
        }
        case 3 -> { // deep nesting
          int depth = 100 + random.nextInt(5000);
          String open = random.nextBoolean() ? "[" : "{\"a\":";
          String close = open.equals("[") ? "]" : "}";
          body = ("{\"model\":\"pasta-tiny\",\"messages\":" + open.repeat(depth) + "1" + close.repeat(depth) + "}")
              .getBytes(java.nio.charset.StandardCharsets.UTF_8);
        }
        default -> { // huge or odd contents
          String content = switch (random.nextInt(4)) {
            case 0 -> "x".repeat(200_000);
            case 1 -> "\\ud83d".repeat(1000);
            case 2 -> "<promise topic=\\\"a\\\"/>".repeat(500);
            default -> "\\u0000".repeat(100);
          };
          body = ("{\"model\":\"pasta-tiny\",\"messages\":[{\"role\":\"user\",\"content\":\"" + content
              + "\"}],\"max_tokens\":" + (random.nextInt(10000) - 100) + "}").getBytes(java.nio.charset.StandardCharsets.UTF_8);
        }
      }
      byte[] payload = body;
      client.post().uri(random.nextBoolean() ? "/v1/chat/completions" : "/v1/completions")
          .header("Authorization", "Bearer k3").header("Content-Type", "application/json").bodyValue(payload)
          .exchange()
          .expectBody(String.class).consumeWith(result -> {
            int status = result.getStatus().value();
            String response = result.getResponseBody();
            String shown = new String(payload, java.nio.charset.StandardCharsets.UTF_8);
            shown = shown.length() > 200 ? shown.substring(0, 200) + "..." : shown;
            assertThat(status).as("%s -> %s %s", shown, status, response).isBetween(400, 503);
            assertThat(status != 500 && status != 502).as("%s -> %s %s", shown, status, response).isTrue();
            try {
              JsonNode error = json.readTree(response).path("error");
              assertThat(error.path("message").asText()).as(response).isNotBlank();
              assertThat(error.has("type") && error.has("param") && error.has("code")).as(response).isTrue();
              if (status == 503) {
                assertThat(error.path("code").asText()).isEqualTo("no_worker");
              }
            } catch (java.io.IOException e) {
              throw new AssertionError("not JSON: " + response, e);
            }
          });
      cases++;
    }
    assertThat(cases).isEqualTo(400);
    client.get().uri("/v1/models").header("Authorization", "Bearer k3").exchange().expectStatus().isOk();
  }
}
