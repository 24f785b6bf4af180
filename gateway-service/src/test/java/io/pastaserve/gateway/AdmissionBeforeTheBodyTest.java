package io.pastaserve.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.pastaserve.common.messaging.GenerateCommand;
import io.pastaserve.common.messaging.RedisKeys;
import io.pastaserve.common.messaging.Topics;
import io.pastaserve.common.messaging.WorkerHeartbeat;
import io.pastaserve.testing.RedisTestServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.autoconfigure.actuate.observability.AutoConfigureObservability;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalManagementPort;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.data.redis.core.StringRedisTemplate;
import org.springframework.kafka.test.EmbeddedKafkaBroker;
import org.springframework.kafka.test.context.EmbeddedKafka;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import org.springframework.test.web.reactive.server.WebTestClient;

/**
 * Admission through the real gateway over a real Redis and a real (embedded KRaft) broker, the test playing the
 * interpreter (it reads the enqueued command and writes the request's output stream): a key's rate limit is
 * checked before the body is read, so a request over it is refused without its body being sent; a resumable
 * stream whose client went away keeps its place in the bulkhead until the generation ends; reading a stream
 * again ({@code GET /v1/pasta/streams/{id}}) is admitted like any request, by the rate limit and the bulkhead.
 */
@AutoConfigureObservability
@EmbeddedKafka(kraft = true, partitions = 1, bootstrapServersProperty = "spring.kafka.bootstrap-servers")
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, properties = {
    "pasta.gateway.model-dir=../models/pasta-tiny", "pasta.gateway.api-keys=r1,r2,r3,r4,r5,r6,r7,r8",
    "pasta.gateway.rate-limit-requests=3", "pasta.gateway.rate-limit-period=10m",
    "pasta.gateway.max-concurrent-requests=1", "pasta.gateway.topic-partitions=1"})
class AdmissionBeforeTheBodyTest {

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
  int port;

  @LocalManagementPort
  int managementPort;

  @Autowired
  StringRedisTemplate redis;

  @Autowired
  EmbeddedKafkaBroker broker;

  final ObjectMapper json = new ObjectMapper();

  static String chat(String content, String extra) {
    return "{\"model\":\"pasta-tiny\",\"messages\":[{\"role\":\"user\",\"content\":\"" + content + "\"}],"
        + "\"max_tokens\":20" + extra + "}";
  }

  @Test
  void aKeyOverItsRateLimit_isRefusedBeforeItsBodyIsRead() throws Exception {
    // three requests spend the key's limit, however bad their bodies
    for (int i = 0; i < 3; i++) {
      assertThat(send("POST", "/v1/chat/completions", "r1", "{not json").status()).isEqualTo(400);
    }
    // a client that sent its whole body gets the refusal, not a connection reset by the unread rest of it
    for (String content : List.of("hi", "a long prompt ".repeat(8_000))) {
      Reply refused = send("POST", "/v1/chat/completions", "r1", chat(content, ""));
      assertThat(refused.status()).isEqualTo(429);
      assertThat(refused.text()).contains("rate_limit_exceeded").containsIgnoringCase("Retry-After:");
    }
    // a client that sends no body still gets the refusal (once the gateway stops waiting for the body to drop)
    assertThat(sendHeadersOnly("/v1/chat/completions", "r1", 4096).status()).isEqualTo(429);
    assertThat(sendHeadersOnly("/v1/completions", "r1", 4096).status()).isEqualTo(429);
    // another key has a limit of its own: r2 gets as far as finding no worker
    redis.delete(RedisKeys.worker("w1"));
    assertThat(send("POST", "/v1/chat/completions", "r2", chat("hi", "")).status()).isEqualTo(503);
  }

  @Test
  void aDetachedResumableStream_holdsItsPlaceUntilItEnds_andReadingItAgainIsAdmitted() throws Exception {
    heartbeat();
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> WebTestClient.bindToServer()
        .baseUrl("http://127.0.0.1:" + managementPort).build().get().uri("/actuator/health/readiness").exchange()
        .expectStatus().isOk());
    try (KafkaConsumer<String, String> commands = consumer()) {
      // A: a resumable stream; its client reads the first text and goes away
      String a;
      try (Socket client = open("POST", "/v1/chat/completions", "r3",
          chat("detach-me", ",\"stream\":true,\"pasta\":{\"resumable\":true}"))) {
        a = enqueued(commands, "detach-me");
        write(a, Map.of("type", "text", "text", "first words"));
        readUntil(client, "first words");
      }
      await().atMost(Duration.ofSeconds(20)).until(() -> metric("pasta_request_success_total", "detached") >= 1);
      // the generation goes on, and still counts: the bulkhead (1) is full
      Reply b = send("POST", "/v1/chat/completions", "r4", chat("b", ",\"pasta\":{\"timeout_ms\":2000}"));
      assertThat(b.status()).as(b.text()).isEqualTo(429);
      assertThat(b.text()).contains("queue_full");
      // so is reading it again
      Reply early = send("GET", "/v1/pasta/streams/" + a, "r5", null);
      assertThat(early.status()).as(early.text()).isEqualTo(429);

      // A ends: its place is free
      write(a, Map.of("type", "done", "finishReason", "stop", "promptTokens", "3", "completionTokens", "2"));
      await().atMost(Duration.ofSeconds(20)).until(() -> metric("pasta_gateway_requests_running", "") == 0);

      // D holds the only place; a reader of A must wait its turn
      try (Socket holder = open("POST", "/v1/chat/completions", "r6",
          chat("hold-the-place", ",\"stream\":true,\"pasta\":{\"resumable\":true}"))) {
        String d = enqueued(commands, "hold-the-place");
        await().atMost(Duration.ofSeconds(20)).until(() -> metric("pasta_gateway_requests_running", "") == 1);
        Reply waiting = send("GET", "/v1/pasta/streams/" + a, "r7", null);
        assertThat(waiting.status()).as(waiting.text()).isEqualTo(429);
        write(d, Map.of("type", "done", "finishReason", "stop", "promptTokens", "3", "completionTokens", "0"));
        readUntil(holder, "[DONE]");
      }
      await().atMost(Duration.ofSeconds(20)).until(() -> metric("pasta_gateway_requests_running", "") == 0);
      Reply again = send("GET", "/v1/pasta/streams/" + a, "r7", null);
      assertThat(again.status()).as(again.text()).isEqualTo(200);
      assertThat(again.text()).contains("first words", "[DONE]");
      // and it spends the key's rate limit like any request: r7 has used 2 of 3
      assertThat(send("GET", "/v1/pasta/streams/" + a, "r7", null).status()).isEqualTo(200);
      Reply limited = send("GET", "/v1/pasta/streams/" + a, "r7", null);
      assertThat(limited.status()).isEqualTo(429);
      assertThat(limited.text()).contains("rate_limit_exceeded");
    }
  }

  void heartbeat() throws Exception {
    redis.opsForValue().set(RedisKeys.worker("w1"), json.writeValueAsString(new WorkerHeartbeat(
        WorkerHeartbeat.VERSION, "w1", "pasta-tiny", 2048, "cpu", "test")), Duration.ofMinutes(5));
  }

  KafkaConsumer<String, String> consumer() {
    KafkaConsumer<String, String> consumer = new KafkaConsumer<>(Map.of(
        "bootstrap.servers", broker.getBrokersAsString(), "group.id", "admission-test",
        "auto.offset.reset", "earliest", "key.deserializer", StringDeserializer.class,
        "value.deserializer", StringDeserializer.class));
    consumer.subscribe(List.of(Topics.REQUESTS));
    return consumer;
  }

  /** The id of the request whose prompt holds {@code prompt}, as the interpreter would take it off the topic. */
  String enqueued(KafkaConsumer<String, String> consumer, String prompt) {
    List<String> found = new ArrayList<>();
    await().atMost(Duration.ofSeconds(30)).until(() -> {
      for (var record : consumer.poll(Duration.ofMillis(200))) {
        GenerateCommand command = json.readValue(record.value(), GenerateCommand.class);
        if (command.prompt().contains(prompt)) {
          found.add(command.requestId());
        }
      }
      return !found.isEmpty();
    });
    return found.get(0);
  }

  /** Appends an entry to the request's output stream and says so, as the interpreter does. */
  void write(String requestId, Map<String, String> entry) {
    redis.opsForStream().add(RedisKeys.output(requestId), entry);
    redis.convertAndSend(RedisKeys.OUTPUT_READY, requestId);
  }

  double metric(String series, String label) {
    String body = WebTestClient.bindToServer().baseUrl("http://127.0.0.1:" + managementPort).build().get()
        .uri("/actuator/prometheus").exchange().expectStatus().isOk().expectBody(String.class).returnResult()
        .getResponseBody();
    return body.lines().filter(l -> l.startsWith(series + " ") || l.startsWith(series + "{"))
        .filter(l -> label.isEmpty() || l.contains("\"" + label + "\""))
        .mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1))).sum();
  }

  record Reply(int status, String text) {
  }

  Socket open(String method, String path, String key, String body) throws IOException {
    Socket socket = new Socket("127.0.0.1", port);
    socket.setSoTimeout(30_000);
    byte[] payload = body == null ? new byte[0] : body.getBytes(StandardCharsets.UTF_8);
    String head = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        + "Authorization: Bearer " + key + "\r\n"
        + (body == null ? "" : "Content-Type: application/json\r\nContent-Length: " + payload.length + "\r\n")
        + "\r\n";
    OutputStream out = socket.getOutputStream();
    out.write(head.getBytes(StandardCharsets.US_ASCII));
    out.write(payload);
    out.flush();
    return socket;
  }

  /** A whole exchange: the status and everything the server sent (headers and body) until it closed. */
  Reply send(String method, String path, String key, String body) throws IOException {
    try (Socket socket = open(method, path, key, body)) {
      return reply(new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
    }
  }

  /** Headers announcing a body of {@code length} bytes, and no body: only an answer from the headers comes back. */
  Reply sendHeadersOnly(String path, String key, int length) throws IOException {
    try (Socket socket = new Socket("127.0.0.1", port)) {
      socket.setSoTimeout(30_000);
      String head = "POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + key + "\r\n"
          + "Content-Type: application/json\r\nContent-Length: " + length + "\r\n\r\n";
      socket.getOutputStream().write(head.getBytes(StandardCharsets.US_ASCII));
      socket.getOutputStream().flush();
      InputStream in = socket.getInputStream();
      StringBuilder text = new StringBuilder();
      for (int c = in.read(); c != -1 && c != '\n'; c = in.read()) {
        text.append((char) c);
      }
      return reply(text.toString());
    }
  }

  static void readUntil(Socket socket, String marker) throws IOException {
    InputStream in = socket.getInputStream();
    StringBuilder text = new StringBuilder();
    byte[] buffer = new byte[4096];
    while (!text.toString().contains(marker)) {
      int n = in.read(buffer);
      assertThat(n).as("the stream ended before '%s': %s", marker, text).isPositive();
      text.append(new String(buffer, 0, n, StandardCharsets.UTF_8));
    }
  }

  static Reply reply(String text) {
    String[] status = text.split("\r?\n", 2)[0].split(" ");
    assertThat(status.length).as(text).isGreaterThanOrEqualTo(2);
    return new Reply(Integer.parseInt(status[1]), text);
  }
}
