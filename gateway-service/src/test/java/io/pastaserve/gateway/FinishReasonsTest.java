package io.pastaserve.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.pastaserve.common.messaging.GenerateCommand;
import io.pastaserve.common.messaging.RedisKeys;
import io.pastaserve.common.messaging.Topics;
import io.pastaserve.common.messaging.WorkerHeartbeat;
import io.pastaserve.testing.RedisTestServer;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.data.redis.connection.stream.StreamRecords;
import org.springframework.data.redis.core.StringRedisTemplate;
import org.springframework.kafka.test.EmbeddedKafkaBroker;
import org.springframework.kafka.test.context.EmbeddedKafka;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/**
 * What a client sees of each way the backend can end a request. The gateway runs over a real Redis and a real
 * (embedded KRaft) broker; the test plays the interpreter: it reads the request the gateway enqueued and writes
 * that request's output stream in Redis — text, then the final entry with the backend's finish reason — exactly as
 * the interpreter does. Only OpenAI's finish reasons ({@code stop}, {@code length}) ever reach a client; any other
 * ending (an engine error, a cancellation, a reason the gateway does not know) is an error: the OpenAI envelope
 * with a 5xx for a whole answer, an {@code error} event then {@code [DONE]} in a started stream.
 */
@EmbeddedKafka(kraft = true, partitions = 2, bootstrapServersProperty = "spring.kafka.bootstrap-servers")
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, properties = {
    "pasta.gateway.model-dir=../models/pasta-tiny", "pasta.gateway.api-keys=finish-key",
    "pasta.gateway.request-timeout=60s"})
class FinishReasonsTest {

  static RedisTestServer redisServer;
  static KafkaConsumer<String, String> requests;
  /** Request id of each enqueued request, by its prompt. */
  static final Map<String, String> idsByPrompt = new ConcurrentHashMap<>();
  static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
  final ObjectMapper json = new ObjectMapper();

  @DynamicPropertySource
  static void redisProperties(DynamicPropertyRegistry registry) throws Exception {
    redisServer = RedisTestServer.start();
    registry.add("spring.data.redis.port", redisServer::port);
  }

  @AfterAll
  static void stop() {
    if (requests != null) {
      requests.close();
    }
    redisServer.close();
  }

  @Autowired
  StringRedisTemplate redis;

  @Autowired
  EmbeddedKafkaBroker broker;

  @LocalServerPort
  int port;

  @BeforeEach
  void aWorkerIsAlive() throws Exception {
    redis.opsForValue().set(RedisKeys.worker("w1"), json.writeValueAsString(new WorkerHeartbeat(
        WorkerHeartbeat.VERSION, "w1", "pasta-tiny", 2048, "cpu", "test")), Duration.ofSeconds(60));
    if (requests == null) {
      requests = new KafkaConsumer<>(Map.of("bootstrap.servers", broker.getBrokersAsString(),
          "group.id", "finish-" + UUID.randomUUID(), "auto.offset.reset", "earliest",
          "key.deserializer", StringDeserializer.class, "value.deserializer", StringDeserializer.class));
      requests.subscribe(List.of(Topics.REQUESTS));
    }
    HttpRequest models = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v1/models"))
        .header("Authorization", "Bearer finish-key").GET().build();
    await().atMost(Duration.ofSeconds(30)).until(() -> json.readTree(HTTP.send(models,
        HttpResponse.BodyHandlers.ofString()).body()).path("data").path(0).path("live_workers").asInt() == 1);
  }

  /** Starts a request; returns its response (not yet complete) and its request id, read from the broker. */
  Started start(boolean chat, boolean stream) throws Exception {
    String prompt = "prompt " + UUID.randomUUID();
    ObjectNode body = json.createObjectNode().put("model", "pasta-tiny").put("stream", stream).put("seed", 3);
    if (chat) {
      body.putArray("messages").addObject().put("role", "user").put("content", prompt);
    } else {
      body.put("prompt", prompt);
    }
    HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port
            + (chat ? "/v1/chat/completions" : "/v1/completions")))
        .timeout(Duration.ofSeconds(60)).header("Authorization", "Bearer finish-key")
        .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body.toString()))
        .build();
    CompletableFuture<HttpResponse<String>> response = HTTP.sendAsync(request, HttpResponse.BodyHandlers.ofString());
    await().atMost(Duration.ofSeconds(30)).until(() -> {
      for (var r : requests.poll(Duration.ofMillis(100))) {
        GenerateCommand command = json.readValue(r.value(), GenerateCommand.class);
        idsByPrompt.put(command.prompt(), command.requestId());
      }
      return idsByPrompt.containsKey(prompt) || response.isDone();
    });
    assertThat(response.isDone()).as("the request answered before it was enqueued: %s",
        response.isDone() ? response.get().body() : "").isFalse();
    return new Started(idsByPrompt.get(prompt), response);
  }

  record Started(String id, CompletableFuture<HttpResponse<String>> response) {
  }

  /** Writes the request's output as the interpreter does: text entries, then the final entry, then a notification. */
  void backendWrites(String id, List<String> texts, String finishReason, String error) {
    String key = RedisKeys.output(id);
    for (String text : texts) {
      redis.opsForStream().add(StreamRecords.string(Map.of("type", "text", "text", text)).withStreamKey(key));
    }
    Map<String, String> done = new LinkedHashMap<>();
    done.put("type", "done");
    done.put("finishReason", finishReason);
    done.put("error", error);
    done.put("promptTokens", "12");
    done.put("completionTokens", "7");
    done.put("criticalPathTokens", "7");
    done.put("forks", "0");
    done.put("annotated", "");
    done.put("spans", "[]");
    redis.opsForStream().add(StreamRecords.string(done).withStreamKey(key));
    redis.convertAndSend(RedisKeys.OUTPUT_READY, id);
  }

  static List<String> events(String body) {
    List<String> out = new ArrayList<>();
    for (String line : body.split("\n")) {
      if (line.startsWith("data: ")) {
        out.add(line.substring(6));
      }
    }
    return out;
  }

  @ParameterizedTest(name = "backend {0} -> finish_reason {1}")
  @CsvSource({"stop, stop", "length, length"})
  void openAisFinishReasons_reachTheClient_wholeAndStreamed(String backend, String expected) throws Exception {
    for (boolean chat : new boolean[] {true, false}) {
      Started whole = start(chat, false);
      backendWrites(whole.id(), List.of("Sleep ", "well."), backend, "");
      HttpResponse<String> response = whole.response().get(30, TimeUnit.SECONDS);
      assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
      JsonNode choice = json.readTree(response.body()).path("choices").get(0);
      assertThat(choice.path("finish_reason").asText()).isEqualTo(expected);
      assertThat(chat ? choice.path("message").path("content").asText() : choice.path("text").asText())
          .isEqualTo("Sleep well.");

      Started streamed = start(chat, true);
      backendWrites(streamed.id(), List.of("Sleep ", "well."), backend, "");
      List<String> events = events(streamed.response().get(30, TimeUnit.SECONDS).body());
      assertThat(events.get(events.size() - 1)).isEqualTo("[DONE]");
      JsonNode last = json.readTree(events.get(events.size() - 2));
      assertThat(last.path("choices").get(0).path("finish_reason").asText()).isEqualTo(expected);
      assertThat(events).noneMatch(e -> e.contains("\"error\""));
    }
  }

  /**
   * A worker whose engine failed ({@code FinishReason.ERROR}, or a request it could not run) ends the request with
   * {@code error} and a message; a request cancelled by someone other than this client ends with
   * {@code cancelled}; any other reason is one this gateway does not know. None of them is a finish reason a client
   * knows: each is an error, with or without text before it.
   */
  @ParameterizedTest(name = "backend {0} ({1} text) -> {2} {3}")
  @CsvSource({
      "error, 0, 500, generation_failed",
      "error, 2, 500, generation_failed",
      "cancelled, 0, 503, request_cancelled",
      "cancelled, 2, 503, request_cancelled",
      "content_filter, 2, 500, generation_failed",
      "'', 1, 500, generation_failed"})
  void otherEndings_areErrors_neverAFinishReason(String backend, int texts, int status, String code)
      throws Exception {
    List<String> text = List.of("Sleep ", "well.").subList(0, texts);
    String why = backend.equals("error") ? "the engine step failed: boom" : "";
    for (boolean chat : new boolean[] {true, false}) {
      Started whole = start(chat, false);
      backendWrites(whole.id(), text, backend, why);
      HttpResponse<String> response = whole.response().get(30, TimeUnit.SECONDS);
      assertThat(response.statusCode()).as(response.body()).isEqualTo(status);
      assertThat(response.headers().firstValue("content-type").orElse("")).startsWith("application/json");
      JsonNode error = json.readTree(response.body()).path("error");
      assertThat(error.path("code").asText()).as(response.body()).isEqualTo(code);
      assertThat(error.path("type").asText()).isNotBlank();
      assertThat(error.has("param")).isTrue();
      assertThat(error.path("message").asText()).contains(why);
      assertThat(response.body()).doesNotContain("finish_reason");

      Started streamed = start(chat, true);
      backendWrites(streamed.id(), text, backend, why);
      HttpResponse<String> stream = streamed.response().get(30, TimeUnit.SECONDS);
      assertThat(stream.body()).doesNotContain("\"finish_reason\":\"" + backend + "\"");
      if (texts == 0) {
        // nothing was sent yet: the response still has its status
        assertThat(stream.statusCode()).as(stream.body()).isEqualTo(status);
        assertThat(json.readTree(stream.body()).path("error").path("code").asText()).isEqualTo(code);
        continue;
      }
      assertThat(stream.statusCode()).isEqualTo(200);
      List<String> events = events(stream.body());
      assertThat(events.get(events.size() - 1)).isEqualTo("[DONE]");
      JsonNode errorEvent = json.readTree(events.get(events.size() - 2)).path("error");
      assertThat(errorEvent.path("code").asText()).as(stream.body()).isEqualTo(code);
      assertThat(errorEvent.path("message").asText()).contains(why);
      for (String e : events.subList(0, events.size() - 2)) {
        JsonNode choices = json.readTree(e).path("choices");
        assertThat(choices.isEmpty() || choices.get(0).path("finish_reason").isNull()).as(e).isTrue();
      }
    }
  }
}
