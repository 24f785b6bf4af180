package io.pastaserve.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.pastaserve.gateway.GatewayApplication;
import io.pastaserve.worker.DecoderWorkerApplication;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * Seeds and finish reasons through the real suite: gateway, interpreter service and a decoder worker, a real KRaft
 * broker, a real Redis, the bundled model. A request without a seed is sampled with a random one, which the answer
 * reports ({@code pasta.seed}) and which, sent back, gives the same answer; an answer cut by {@code max_tokens}
 * says {@code length}, whole or streamed, in either mode.
 */
class SeedsAndFinishReasonsTest {

  private static final Logger log = LoggerFactory.getLogger(SeedsAndFinishReasonsTest.class);
  static final String KEY = "seed-key-" + UUID.randomUUID();
  static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
  static Suite suite;
  static ConfigurableApplicationContext worker;
  static ConfigurableApplicationContext gateway;
  /**
   * A gateway that takes the model's context for 16,384 tokens (its {@code config.json} says so; the worker's, the
   * real one, says 2,048), as during a rollout where the two disagree: it lets through prompts the worker cannot
   * run.
   */
  static ConfigurableApplicationContext mismatchedGateway;
  static Path mismatchedModel;
  static String prompt;

  @BeforeAll
  static void start() throws Exception {
    suite = new Suite();
    suite.startInterpreter();
    worker = new SpringApplicationBuilder(DecoderWorkerApplication.class).properties(suite.shared())
        .properties("pasta.worker.model-dir=" + Suite.MODEL, "pasta.worker.device=cpu").run();
    gateway = new SpringApplicationBuilder(GatewayApplication.class).web(WebApplicationType.REACTIVE)
        .properties(suite.shared())
        .properties("pasta.gateway.model-dir=" + Suite.MODEL, "pasta.gateway.api-keys=" + KEY,
            "pasta.gateway.topic-partitions=4")
        .run();
    mismatchedModel = Files.createTempDirectory("pasta-tiny-16k");
    Files.copy(Suite.MODEL.resolve("tokenizer.json"), mismatchedModel.resolve("tokenizer.json"));
    ObjectNode config = (ObjectNode) Suite.JSON.readTree(Suite.MODEL.resolve("config.json").toFile());
    config.put("max_position_embeddings", 16_384);
    Suite.JSON.writeValue(mismatchedModel.resolve("config.json").toFile(), config);
    mismatchedGateway = new SpringApplicationBuilder(GatewayApplication.class).web(WebApplicationType.REACTIVE)
        .properties(suite.shared())
        .properties("pasta.gateway.model-dir=" + mismatchedModel, "pasta.gateway.model-name=pasta-tiny",
            "pasta.gateway.api-keys=" + KEY, "pasta.gateway.topic-partitions=4")
        .run();
    prompt = Suite.heldoutPrompts().get(1);
    await().atMost(Duration.ofSeconds(30)).until(() -> json(send(HttpRequest.newBuilder(uri("/v1/models")).GET())
        .body()).path("data").path(0).path("live_workers").asInt() == 1);
  }

  @AfterAll
  static void stop() {
    for (ConfigurableApplicationContext c : new ConfigurableApplicationContext[] {mismatchedGateway, gateway,
        worker}) {
      if (c != null) {
        c.close();
      }
    }
    suite.close();
    if (mismatchedModel != null) {
      for (String f : List.of("tokenizer.json", "config.json", "")) {
        mismatchedModel.resolve(f).toFile().delete();
      }
    }
  }

  static URI uri(String path) {
    return uri(gateway, path);
  }

  static URI uri(ConfigurableApplicationContext app, String path) {
    return URI.create("http://127.0.0.1:" + app.getEnvironment().getProperty("local.server.port") + path);
  }

  static HttpResponse<String> send(HttpRequest.Builder request) throws Exception {
    return HTTP.send(request.timeout(Duration.ofSeconds(120)).header("Authorization", "Bearer " + KEY).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  static HttpResponse<String> post(String path, ObjectNode body) throws Exception {
    HttpResponse<String> response = send(HttpRequest.newBuilder(uri(path)).header("Content-Type",
        "application/json").POST(HttpRequest.BodyPublishers.ofString(body.toString())));
    assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
    return response;
  }

  static JsonNode json(String s) throws Exception {
    return Suite.JSON.readTree(s);
  }

  /** A chat request sampled at temperature 1, without a seed. */
  static ObjectNode sampled(String mode, int maxTokens, boolean stream) {
    ObjectNode body = Suite.JSON.createObjectNode().put("model", "pasta-tiny").put("temperature", 1.0)
        .put("max_tokens", maxTokens).put("stream", stream);
    body.putArray("messages").addObject().put("role", "user").put("content", prompt);
    body.putObject("pasta").put("mode", mode);
    return body;
  }

  /** The {@code data:} payloads of a server-sent event stream, {@code [DONE]} included. */
  static List<String> events(String body) {
    List<String> out = new ArrayList<>();
    for (String line : body.split("\n")) {
      if (line.startsWith("data: ")) {
        out.add(line.substring(6));
      }
    }
    return out;
  }

  static String text(JsonNode answer) {
    JsonNode choice = answer.path("choices").get(0);
    return choice.has("message") ? choice.path("message").path("content").asText() : choice.path("text").asText();
  }

  /**
   * Two unseeded requests at temperature 1: 48 tokens each, sampled from the whole distribution, so the same text
   * twice is as good as impossible unless both drew the same seed. Serial answers cut by the budget are determined
   * by their seed (async ones need not be: see docs/api.md), so each reported seed, sent back, gives its text again.
   */
  @Test
  void unseededSampledAnswers_differ_andTheSeedEachReports_reproducesIt() throws Exception {
    List<JsonNode> answers = new ArrayList<>();
    for (int i = 0; i < 2; i++) {
      answers.add(json(post("/v1/chat/completions", sampled("serial", 48, false)).body()));
    }
    List<String> texts = answers.stream().map(SeedsAndFinishReasonsTest::text).toList();
    List<JsonNode> reported = answers.stream().map(a -> a.path("pasta").path("seed")).toList();
    log.info("unseeded answers reported seeds {}: {}", reported, texts);
    assertThat(texts.get(1)).as("two unseeded answers at temperature 1 (seeds %s)", reported)
        .isNotEqualTo(texts.get(0));
    assertThat(reported).allMatch(JsonNode::isIntegralNumber);
    List<Long> seeds = reported.stream().map(JsonNode::asLong).toList();
    assertThat(seeds.get(1)).isNotEqualTo(seeds.get(0));
    for (int i = 0; i < 2; i++) {
      assertThat(seeds.get(i)).isBetween(0L, (1L << 53) - 1);
      JsonNode again = json(post("/v1/chat/completions", sampled("serial", 48, false).put("seed", seeds.get(i)))
          .body());
      assertThat(text(again)).as("seed %s sent back", seeds.get(i)).isEqualTo(texts.get(i));
      assertThat(again.path("pasta").path("seed").asLong()).isEqualTo(seeds.get(i));
    }
  }

  /** A streamed answer reports its seed on the chunk that finishes it; the seed gives the same text whole. */
  @Test
  void aStreamedAnswer_reportsItsSeedOnTheFinalChunk() throws Exception {
    List<String> events = events(post("/v1/chat/completions", sampled("serial", 48, true)).body());
    assertThat(events.get(events.size() - 1)).isEqualTo("[DONE]");
    JsonNode last = json(events.get(events.size() - 2));
    assertThat(last.path("pasta").path("seed").isIntegralNumber()).as(last.toString()).isTrue();
    long seed = last.path("pasta").path("seed").asLong();
    StringBuilder streamed = new StringBuilder();
    for (String e : events.subList(0, events.size() - 1)) {
      JsonNode chunk = json(e);
      streamed.append(chunk.path("choices").get(0).path("delta").path("content").asText(""));
    }
    for (String e : events.subList(0, events.size() - 2)) {
      assertThat(json(e).has("pasta")).as(e).isFalse();
    }
    log.info("streamed answer drew seed {}", seed);
    JsonNode whole = json(post("/v1/chat/completions", sampled("serial", 48, false).put("seed", seed)).body());
    assertThat(text(whole)).isEqualTo(streamed.toString());
  }

  /** {@code max_tokens} reached: {@code length}, never {@code stop}, whole or streamed, chat or text, in both modes. */
  @Test
  void answersCutByMaxTokens_sayLength_wholeAndStreamed_inBothModes() throws Exception {
    for (String mode : List.of("async", "serial")) {
      for (String path : List.of("/v1/chat/completions", "/v1/completions")) {
        ObjectNode body = sampled(mode, 6, false).put("seed", 5).put("temperature", 0);
        if (path.equals("/v1/completions")) {
          body.remove("messages");
          body.put("prompt", prompt);
        }
        JsonNode whole = json(post(path, body).body());
        assertThat(whole.path("choices").get(0).path("finish_reason").asText()).as(mode + " " + path + " " + whole)
            .isEqualTo("length");
        assertThat(whole.path("usage").path("completion_tokens").asInt()).isEqualTo(6);

        List<String> events = events(post(path, body.put("stream", true)).body());
        assertThat(events.get(events.size() - 1)).isEqualTo("[DONE]");
        JsonNode last = json(events.get(events.size() - 2));
        assertThat(last.path("choices").get(0).path("finish_reason").asText()).as(mode + " " + path + " " + last)
            .isEqualTo("length");
      }
    }
  }

  /**
   * A real engine error: the worker refuses a prompt longer than its model's context (its engine's request fails,
   * and the worker reports {@code error} with the reason), which the mismatched gateway let through. The client
   * gets the error envelope with the worker's reason, whole or streamed — never an answer with
   * {@code finish_reason: "error"}.
   */
  @Test
  void aPromptTheWorkerCannotRun_isAnError_wholeOrStreamed() throws Exception {
    for (boolean stream : new boolean[] {false, true}) {
      ObjectNode body = sampled("serial", 16, stream);
      ((ObjectNode) body.get("messages").get(0)).put("content", "word ".repeat(3000));
      HttpResponse<String> response = send(HttpRequest.newBuilder(uri(mismatchedGateway, "/v1/chat/completions"))
          .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body.toString())));
      assertThat(response.statusCode()).as("stream %s: %s", stream, response.body()).isEqualTo(500);
      assertThat(response.headers().firstValue("content-type").orElse("")).startsWith("application/json");
      JsonNode error = json(response.body()).path("error");
      assertThat(error.path("code").asText()).isEqualTo("generation_failed");
      assertThat(error.path("type").asText()).isEqualTo("server_error");
      assertThat(error.path("message").asText()).contains("this model's context holds 2048");
      assertThat(response.body()).doesNotContain("finish_reason");
    }
  }
}
