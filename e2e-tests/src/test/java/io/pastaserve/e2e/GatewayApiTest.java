package io.pastaserve.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.pastaserve.common.messaging.RedisKeys;
import io.pastaserve.common.request.Mode;
import io.pastaserve.common.request.Sampling;
import io.pastaserve.gateway.GatewayApplication;
import io.pastaserve.worker.DecoderWorkerApplication;
import io.pastaserve.worker.engine.Engine;
import io.pastaserve.worker.engine.EngineConfig;
import io.pastaserve.worker.engine.GenerationRequest;
import io.pastaserve.worker.engine.GenerationResult;
import io.pastaserve.worker.model.ExecutionProvider;
import io.pastaserve.worker.model.ModelRunner;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * The gateway's API contract through the real suite: gateway, interpreter service and a decoder worker (each a
 * Spring Boot application), a real KRaft broker, a real Redis, the bundled model. Answers are compared with the
 * in-process engine ({@code bin/pasta generate}'s code path) for the same prompt, seed and mode.
 */
class GatewayApiTest {

  static final String KEY = "test-key-" + UUID.randomUUID();
  static Suite suite;
  static ConfigurableApplicationContext worker;
  static ConfigurableApplicationContext gateway;
  /** A second gateway instance that runs one request at a time. */
  static ConfigurableApplicationContext narrowGateway;
  static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
  static String prompt;
  static Map<String, GenerationResult> expected = new HashMap<>();

  @BeforeAll
  static void start() throws Exception {
    suite = new Suite();
    suite.startInterpreter();
    worker = new SpringApplicationBuilder(DecoderWorkerApplication.class).properties(suite.shared())
        .properties("pasta.worker.model-dir=" + Suite.MODEL, "pasta.worker.device=cpu").run();
    gateway = startGateway();
    narrowGateway = startGateway("pasta.gateway.max-concurrent-requests=1", "pasta.gateway.retry-after=3s");
    prompt = Suite.heldoutPrompts().get(0);
    try (ModelRunner runner = ModelRunner.open(Suite.MODEL, ExecutionProvider.CPU, 0);
        Engine engine = new Engine(runner, EngineConfig.defaults())) {
      for (String mode : List.of("async", "serial")) {
        expected.put(mode, engine.generate(new GenerationRequest("local", prompt,
            new Sampling(0.8, 0.95, 0, 11, 3000, List.of()), Mode.of(mode), Optional.empty())));
      }
    }
    await().atMost(Duration.ofSeconds(30)).until(() -> get(gateway, "/actuator/health/readiness", KEY)
        .statusCode() == 200);
  }

  static ConfigurableApplicationContext startGateway(String... extra) {
    return new SpringApplicationBuilder(GatewayApplication.class).web(WebApplicationType.REACTIVE)
        .properties(suite.shared())
        .properties("pasta.gateway.model-dir=" + Suite.MODEL, "pasta.gateway.api-keys=" + KEY,
            "pasta.gateway.topic-partitions=4", "management.server.port=0",
            "management.endpoint.health.probes.enabled=true",
            "management.endpoint.health.group.readiness.include=readinessState,workers")
        .properties(extra).run();
  }

  @AfterAll
  static void stop() {
    for (ConfigurableApplicationContext c : new ConfigurableApplicationContext[] {narrowGateway, gateway, worker}) {
      if (c != null) {
        c.close();
      }
    }
    suite.close();
  }

  /** {@code /actuator} paths go to the management port where the service has one of its own (the gateway). */
  static String url(ConfigurableApplicationContext app, String path) {
    String port = app.getEnvironment().getProperty("local.server.port");
    if (path.startsWith("/actuator")) {
      port = app.getEnvironment().getProperty("local.management.port", port);
    }
    return "http://127.0.0.1:" + port + path;
  }

  static HttpResponse<String> post(ConfigurableApplicationContext app, String path, String body, String key)
      throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url(app, path))).timeout(Duration.ofSeconds(60))
        .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body));
    if (key != null) {
      b.header("Authorization", "Bearer " + key);
    }
    return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  static HttpResponse<String> post(String path, String body) throws Exception {
    return post(gateway, path, body, KEY);
  }

  static HttpResponse<String> get(ConfigurableApplicationContext app, String path, String key) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url(app, path))).timeout(Duration.ofSeconds(30)).GET();
    if (key != null) {
      b.header("Authorization", "Bearer " + key);
    }
    return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  static JsonNode json(String s) throws Exception {
    return Suite.JSON.readTree(s);
  }

  static ObjectNode chatBody(String mode, boolean stream) {
    ObjectNode body = Suite.JSON.createObjectNode().put("model", "pasta-tiny").put("temperature", 0.8)
        .put("top_p", 0.95).put("seed", 11).put("max_tokens", 3000).put("stream", stream);
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

  static String streamedText(List<String> events, boolean chat) throws Exception {
    StringBuilder sb = new StringBuilder();
    for (String e : events) {
      if (e.equals("[DONE]")) {
        continue;
      }
      JsonNode choices = json(e).path("choices");
      if (choices.size() > 0) {
        sb.append(chat ? choices.get(0).path("delta").path("content").asText("")
            : choices.get(0).path("text").asText(""));
      }
    }
    return sb.toString();
  }

  @Test
  void chatAndTextCompletions_streamedOrNot_equalTheInProcessEngine_inBothModes() throws Exception {
    for (String mode : List.of("async", "serial")) {
      GenerationResult local = expected.get(mode);
      String reason = local.finishReason().name().toLowerCase();

      HttpResponse<String> whole = post("/v1/chat/completions", chatBody(mode, false).toString());
      assertThat(whole.statusCode()).as(whole.body()).isEqualTo(200);
      JsonNode answer = json(whole.body());
      assertThat(answer.path("object").asText()).isEqualTo("chat.completion");
      assertThat(answer.path("id").asText()).startsWith("chatcmpl-");
      assertThat(answer.path("model").asText()).isEqualTo("pasta-tiny");
      assertThat(answer.path("choices").get(0).path("message").path("role").asText()).isEqualTo("assistant");
      assertThat(answer.path("choices").get(0).path("message").path("content").asText()).as(mode)
          .isEqualTo(local.text());
      assertThat(answer.path("choices").get(0).path("finish_reason").asText()).isEqualTo(reason);
      JsonNode usage = answer.path("usage");
      assertThat(usage.path("prompt_tokens").asInt()).isEqualTo(local.stats().promptTokens());
      assertThat(usage.path("completion_tokens").asLong()).isEqualTo(local.stats().totalTokens());
      assertThat(usage.path("total_tokens").asLong()).isEqualTo(local.stats().promptTokens()
          + local.stats().totalTokens());
      JsonNode pasta = answer.path("pasta");
      assertThat(pasta.path("mode").asText()).isEqualTo(mode);
      assertThat(pasta.path("forks").asInt()).isEqualTo(local.stats().forks());
      assertThat(pasta.path("total_tokens").asLong()).isEqualTo(local.stats().totalTokens());
      assertThat(pasta.path("critical_path_tokens").asLong()).isEqualTo(local.stats().criticalPathTokens());
      assertThat(pasta.path("ideal_speedup").asDouble()).isCloseTo(local.stats().idealSpeedup(),
          org.assertj.core.data.Offset.offset(0.01));
      assertThat(pasta.path("spans")).hasSize(local.stats().forks() + 1);
      assertThat(pasta.has("annotated")).isFalse();

      HttpResponse<String> streamed = post("/v1/chat/completions", chatBody(mode, true).toString());
      assertThat(streamed.statusCode()).isEqualTo(200);
      assertThat(streamed.headers().firstValue("content-type").orElse("")).startsWith("text/event-stream");
      assertThat(streamedText(events(streamed.body()), true)).isEqualTo(local.text());

      ObjectNode text = chatBody(mode, false);
      text.remove("messages");
      text.put("prompt", prompt);
      JsonNode completion = json(post("/v1/completions", text.toString()).body());
      assertThat(completion.path("object").asText()).isEqualTo("text_completion");
      assertThat(completion.path("choices").get(0).path("text").asText()).isEqualTo(local.text());
      text.put("stream", true);
      assertThat(streamedText(events(post("/v1/completions", text.toString()).body()), false))
          .isEqualTo(local.text());
    }
  }

  @Test
  void streaming_sendsTheRoleFirst_thenContent_thenTheFinish_usageOnlyWhenAsked_thenDone() throws Exception {
    List<String> plain = events(post("/v1/chat/completions", chatBody("async", true).toString()).body());
    assertThat(plain.get(plain.size() - 1)).isEqualTo("[DONE]");
    JsonNode first = json(plain.get(0));
    assertThat(first.path("object").asText()).isEqualTo("chat.completion.chunk");
    assertThat(first.path("choices").get(0).path("delta").path("role").asText()).isEqualTo("assistant");
    JsonNode last = json(plain.get(plain.size() - 2));
    assertThat(last.path("choices").get(0).path("finish_reason").asText()).isEqualTo("stop");
    assertThat(last.path("pasta").path("forks").asInt()).isEqualTo(expected.get("async").stats().forks());
    for (String e : plain.subList(0, plain.size() - 1)) {
      assertThat(json(e).has("usage")).as(e).isFalse();
      assertThat(json(e).path("id").asText()).isEqualTo(first.path("id").asText());
    }

    ObjectNode body = chatBody("async", true);
    body.putObject("stream_options").put("include_usage", true);
    List<String> withUsage = events(post("/v1/chat/completions", body.toString()).body());
    JsonNode usageChunk = json(withUsage.get(withUsage.size() - 2));
    assertThat(usageChunk.path("choices")).isEmpty();
    assertThat(usageChunk.path("usage").path("completion_tokens").asLong())
        .isEqualTo(expected.get("async").stats().totalTokens());
    for (String e : withUsage.subList(0, withUsage.size() - 2)) {
      assertThat(json(e).path("usage").isNull()).as(e).isTrue();
    }
  }

  @Test
  void maxTokensAndStop_endTheAnswer_withTheirFinishReasons() throws Exception {
    ObjectNode body = chatBody("serial", false).put("max_tokens", 5);
    JsonNode shortAnswer = json(post("/v1/chat/completions", body.toString()).body());
    assertThat(shortAnswer.path("choices").get(0).path("finish_reason").asText()).isEqualTo("length");
    assertThat(shortAnswer.path("usage").path("completion_tokens").asInt()).isEqualTo(5);

    String full = expected.get("serial").text();
    String stop = full.substring(20, 26);
    ObjectNode stopped = chatBody("serial", false);
    stopped.putArray("stop").add(stop);
    stopped.remove("max_tokens");
    stopped.put("max_completion_tokens", 3000);
    JsonNode answer = json(post("/v1/chat/completions", stopped.toString()).body());
    assertThat(answer.path("choices").size()).as("%s", answer).isEqualTo(1);
    assertThat(answer.path("choices").get(0).path("finish_reason").asText()).isEqualTo("stop");
    assertThat(answer.path("choices").get(0).path("message").path("content").asText())
        .isEqualTo(full.substring(0, full.indexOf(stop)));
  }

  @Test
  void pastaExtension_carriesTheAnnotatedTranscript_whenAsked() throws Exception {
    ObjectNode body = chatBody("async", false);
    ((ObjectNode) body.get("pasta")).put("include_annotated", true);
    JsonNode answer = json(post("/v1/chat/completions", body.toString()).body());
    assertThat(answer.path("pasta").path("annotated").asText()).isEqualTo(expected.get("async").annotated());
    JsonNode main = answer.path("pasta").path("spans").get(0);
    assertThat(main.path("id").asText()).isEqualTo("0");
    assertThat(main.path("end_ms").asDouble()).isGreaterThan(main.path("start_ms").asDouble());
    // one worker serves this suite: it decoded every span, and each span names it as its heartbeat does
    assertThat(main.path("worker").asText()).isNotBlank();
    answer.path("pasta").path("spans").forEach(s -> assertThat(s.path("worker").asText())
        .isEqualTo(main.path("worker").asText()));
    assertThat(suite.redis.hasKey(RedisKeys.worker(main.path("worker").asText()))).isTrue();
  }

  @Test
  void models_listTheServedModel_withItsContextLength() throws Exception {
    JsonNode list = json(get(gateway, "/v1/models", KEY).body());
    assertThat(list.path("object").asText()).isEqualTo("list");
    assertThat(list.path("data").get(0).path("id").asText()).isEqualTo("pasta-tiny");
    assertThat(list.path("data").get(0).path("max_model_len").asInt()).isEqualTo(2048);
    assertThat(list.path("data").get(0).path("live_workers").asInt()).isEqualTo(1);
    assertThat(json(get(gateway, "/v1/models/pasta-tiny", KEY).body()).path("id").asText()).isEqualTo("pasta-tiny");
    assertError(get(gateway, "/v1/models/gpt-9", KEY), 404, "model_not_found", "model");
  }

  static JsonNode assertError(HttpResponse<String> response, int status, String code, String param)
      throws Exception {
    assertThat(response.statusCode()).as(response.body()).isEqualTo(status);
    assertThat(response.headers().firstValue("content-type").orElse("")).startsWith("application/json");
    JsonNode error = json(response.body()).path("error");
    assertThat(error.path("message").asText()).isNotBlank();
    assertThat(error.path("type").asText()).isNotBlank();
    assertThat(error.has("param")).isTrue();
    assertThat(error.has("code")).isTrue();
    if (code != null) {
      assertThat(error.path("code").asText()).isEqualTo(code);
    }
    if (param != null) {
      assertThat(error.path("param").asText()).isEqualTo(param);
    }
    return error;
  }

  @Test
  void badRequests_getTheOpenAiErrorEnvelope_withTheirStatus() throws Exception {
    String ok = chatBody("async", false).toString();
    assertError(post(gateway, "/v1/chat/completions", ok, null), 401, "missing_api_key", null);
    assertError(post(gateway, "/v1/chat/completions", ok, "wrong"), 401, "invalid_api_key", null);
    assertError(post("/v1/chat/completions", "{\"model\":"), 400, "invalid_json", null);
    assertError(post("/v1/chat/completions", "[1,2]"), 400, "invalid_json", null);
    assertError(post("/v1/chat/completions", ok.replace("\"pasta-tiny\"", "\"gpt-9\"")), 404, "model_not_found",
        "model");
    assertError(post("/v1/chat/completions", chatBody("async", false).put("temperature", "hot").toString()), 400,
        "invalid_value", "temperature");
    assertError(post("/v1/chat/completions", chatBody("async", false).put("temperature", 2.5).toString()), 400,
        "invalid_value", "temperature");
    assertError(post("/v1/chat/completions", chatBody("async", false).put("max_tokens", 0).toString()), 400,
        "invalid_value", "max_tokens");
    assertError(post("/v1/chat/completions", chatBody("async", false).put("n", 2).toString()), 400,
        "invalid_value", "n");
    assertError(post("/v1/chat/completions", chatBody("async", false).put("seed", "x").toString()), 400,
        "invalid_value", "seed");
    ObjectNode options = chatBody("async", false);
    options.putObject("stream_options").put("include_usage", true);
    assertError(post("/v1/chat/completions", options.toString()), 400, "invalid_value", "stream_options");
    ObjectNode badMode = chatBody("async", false);
    ((ObjectNode) badMode.get("pasta")).put("mode", "turbo");
    assertError(post("/v1/chat/completions", badMode.toString()), 400, "invalid_value", "pasta.mode");
    ObjectNode noMessages = chatBody("async", false);
    noMessages.remove("messages");
    assertError(post("/v1/chat/completions", noMessages.toString()), 400, "invalid_value", "messages");
    ObjectNode badRole = chatBody("async", false);
    ((ObjectNode) badRole.get("messages").get(0)).put("role", "wizard");
    assertError(post("/v1/chat/completions", badRole.toString()), 400, "invalid_value", "messages[0].role");

    ObjectNode tooLong = chatBody("async", false);
    ((ObjectNode) tooLong.get("messages").get(0)).put("content", "word ".repeat(3000));
    JsonNode error = assertError(post("/v1/chat/completions", tooLong.toString()), 400, "context_length_exceeded",
        "messages");
    assertThat(error.path("message").asText()).contains("2048").containsPattern("\\b3\\d{3} tokens");

    ObjectNode huge = chatBody("async", false);
    ((ObjectNode) huge.get("messages").get(0)).put("content", "x".repeat(1_100_000));
    assertError(post("/v1/chat/completions", huge.toString()), 413, "request_too_large", null);
    assertError(post("/v1/nothing-here", ok), 404, "unknown_url", null);
  }

  @Test
  void xRequestId_isEchoed_orGenerated() throws Exception {
    HttpRequest request = HttpRequest.newBuilder(URI.create(url(gateway, "/v1/models")))
        .header("Authorization", "Bearer " + KEY).header("X-Request-Id", "trace-me-42").GET().build();
    assertThat(HTTP.send(request, HttpResponse.BodyHandlers.ofString()).headers().firstValue("X-Request-Id"))
        .contains("trace-me-42");
    assertThat(get(gateway, "/v1/models", KEY).headers().firstValue("X-Request-Id")).get().asString()
        .hasSizeGreaterThan(8);
  }

  @Test
  void aPassedDeadline_answers504_streamedOrNot_andFreesTheWorker() throws Exception {
    for (boolean stream : List.of(false, true)) {
      ObjectNode body = chatBody("async", stream);
      ((ObjectNode) body.get("pasta")).put("timeout_ms", 1);
      assertError(post("/v1/chat/completions", body.toString()), 504, "deadline_exceeded", null);
    }
    Engine engine = worker.getBean(Engine.class);
    await().atMost(Duration.ofSeconds(10)).until(() -> engine.load().get().activeSpans() == 0
        && engine.load().get().kvTokens() == 0);
  }

  @Test
  void aFullGateway_answers429_withRetryAfter() throws Exception {
    List<CompletableFuture<HttpResponse<String>>> calls = new ArrayList<>();
    for (int i = 0; i < 6; i++) {
      HttpRequest request = HttpRequest.newBuilder(URI.create(url(narrowGateway, "/v1/chat/completions")))
          .header("Authorization", "Bearer " + KEY).header("Content-Type", "application/json")
          .POST(HttpRequest.BodyPublishers.ofString(chatBody("serial", false).toString())).build();
      calls.add(HTTP.sendAsync(request, HttpResponse.BodyHandlers.ofString()));
    }
    List<HttpResponse<String>> responses = calls.stream().map(CompletableFuture::join).toList();
    assertThat(responses).anyMatch(r -> r.statusCode() == 200);
    HttpResponse<String> refused = responses.stream().filter(r -> r.statusCode() == 429).findFirst().orElseThrow();
    assertError(refused, 429, "queue_full", null);
    assertThat(refused.headers().firstValue("Retry-After")).contains("3");
  }

  @Test
  void aClientThatHangsUpMidStream_cancelsEverySpan_withinASecond() throws Exception {
    ObjectNode body = chatBody("async", true).put("temperature", 1.0).put("max_tokens", 2000);
    byte[] payload = body.toString().getBytes(StandardCharsets.UTF_8);
    Engine engine = worker.getBean(Engine.class);
    // what other tests left decoding (answers cut by a stop string end their spans a moment later) ends first
    await().atMost(Duration.ofSeconds(10)).until(() -> engine.load().get().activeSpans() == 0);
    try (Socket socket = new Socket("127.0.0.1",
        Integer.parseInt(gateway.getEnvironment().getProperty("local.server.port")))) {
      OutputStream out = socket.getOutputStream();
      out.write(("POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer " + KEY
          + "\r\nContent-Type: application/json\r\nContent-Length: " + payload.length + "\r\n\r\n")
          .getBytes(StandardCharsets.US_ASCII));
      out.write(payload);
      out.flush();
      InputStream in = socket.getInputStream();
      StringBuilder seen = new StringBuilder();
      byte[] buffer = new byte[4096];
      // read until the first content chunk: the request is decoding now
      while (!seen.toString().contains("\"delta\":{\"content\":\"")) {
        int n = in.read(buffer);
        assertThat(n).as("stream ended early: %s", seen).isPositive();
        seen.append(new String(buffer, 0, n, StandardCharsets.UTF_8));
      }
      assertThat(engine.load().get().activeSpans()).isPositive();
    }
    long closedAt = System.nanoTime();
    await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(10))
        .until(() -> engine.load().get().activeSpans() == 0 && engine.load().get().kvTokens() == 0);
    Duration freedAfter = Duration.ofNanos(System.nanoTime() - closedAt);
    org.slf4j.LoggerFactory.getLogger(GatewayApiTest.class).info("spans freed {} ms after the client hung up",
        freedAfter.toMillis());
    assertThat(freedAfter).isLessThan(Duration.ofSeconds(1));
    await().atMost(Duration.ofSeconds(5)).until(() -> metric(gateway, "pasta_gateway_requests_running") == 0);
    assertThat(get(gateway, "/actuator/prometheus", null).body().lines()
        .filter(l -> l.startsWith("pasta_request_success_total") && l.contains("finished_reason=\"cancelled\""))
        .mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1))).sum()).isPositive();
  }

  @Test
  void everyServiceExports_theOperatorMetrics() throws Exception {
    post("/v1/chat/completions", chatBody("async", false).toString());
    String gatewayMetrics = get(gateway, "/actuator/prometheus", null).body();
    assertThat(gatewayMetrics).contains("pasta_time_to_first_token_seconds_bucket",
        "pasta_inter_token_latency_seconds_bucket", "pasta_e2e_request_latency_seconds_bucket",
        "pasta_request_success_total", "pasta_gateway_requests_running", "pasta_request_forks_per_request",
        "resilience4j_circuitbreaker_state", "resilience4j_bulkhead_available_concurrent_calls");
    String workerMetrics = get(worker, "/actuator/prometheus", null).body();
    assertThat(workerMetrics).contains("pasta_request_queue_time_seconds_bucket",
        "pasta_request_join_wait_seconds_bucket", "pasta_request_forks_bucket", "pasta_engine_requests_running",
        "pasta_engine_requests_waiting", "pasta_engine_spans_running", "pasta_engine_kv_usage",
        "pasta_worker_requests_finished_total");
    assertThat(get(gateway, "/actuator/health/liveness", null).statusCode()).isEqualTo(200);
    assertThat(get(gateway, "/actuator/health/readiness", null).statusCode()).isEqualTo(200);
  }

  /** The official {@code openai} npm package (Node.js), installed from the lock file on first use. */
  @Test
  void theOfficialOpenAiNodeClient_getsTheEngineText_streamedOrNot_inBothModes() throws Exception {
    java.nio.file.Path dir = Suite.ROOT.resolve("e2e-tests/src/test/node");
    if (!Files.isDirectory(dir.resolve("node_modules/openai"))) {
      run(dir, Map.of(), "npm", "ci", "--no-audit", "--no-fund");
    }
    for (String mode : List.of("async", "serial")) {
      String out = run(dir, Map.of("BASE_URL", url(gateway, "/v1"), "API_KEY", KEY, "PROMPT", prompt, "MODE", mode,
          "SEED", "11", "MAX_TOKENS", "3000"), "node", "openai-client.mjs");
      JsonNode result = json(out);
      GenerationResult local = expected.get(mode);
      assertThat(result.path("chat").asText()).as(mode).isEqualTo(local.text());
      assertThat(result.path("chatStreamed").asText()).isEqualTo(local.text());
      assertThat(result.path("text").asText()).isEqualTo(local.text());
      assertThat(result.path("textStreamed").asText()).isEqualTo(local.text());
      assertThat(result.path("chatFinish").asText()).isEqualTo(local.finishReason().name().toLowerCase());
      assertThat(result.path("chatStreamFinish").asText()).isEqualTo(local.finishReason().name().toLowerCase());
      assertThat(result.path("chatUsage").path("completion_tokens").asLong()).isEqualTo(local.stats().totalTokens());
      assertThat(result.path("chatStreamUsage").path("prompt_tokens").asInt())
          .isEqualTo(local.stats().promptTokens());
      assertThat(result.path("models").get(0).asText()).isEqualTo("pasta-tiny");
    }
  }

  static String run(java.nio.file.Path dir, Map<String, String> env, String... command) throws Exception {
    ProcessBuilder pb = new ProcessBuilder(command).directory(dir.toFile());
    pb.environment().putAll(env);
    java.nio.file.Path err = Files.createTempFile("client", ".err");
    pb.redirectError(err.toFile());
    Process p = pb.start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    boolean done = p.waitFor(300, java.util.concurrent.TimeUnit.SECONDS);
    assertThat(done && p.exitValue() == 0).as("%s failed: %s", String.join(" ", command), Files.readString(err))
        .isTrue();
    return out;
  }

  /** LangChain4j's OpenAI client, blocking and streaming, with the {@code pasta} extension as a custom parameter. */
  @Test
  void langChain4jsOpenAiClient_getsTheEngineText_streamedOrNot_inBothModes() throws Exception {
    for (String mode : List.of("async", "serial")) {
      Map<String, Object> custom = Map.of("pasta", Map.of("mode", mode));
      dev.langchain4j.model.openai.OpenAiChatModel blocking = dev.langchain4j.model.openai.OpenAiChatModel.builder()
          .baseUrl(url(gateway, "/v1")).apiKey(KEY).modelName("pasta-tiny").temperature(0.8).topP(0.95).seed(11)
          .maxTokens(3000).maxRetries(0).customParameters(custom).timeout(Duration.ofSeconds(60)).build();
      dev.langchain4j.model.chat.response.ChatResponse answer = blocking.chat(
          dev.langchain4j.model.chat.request.ChatRequest.builder()
              .messages(dev.langchain4j.data.message.UserMessage.from(prompt)).build());
      GenerationResult local = expected.get(mode);
      assertThat(answer.aiMessage().text()).as(mode).isEqualTo(local.text());
      assertThat(answer.tokenUsage().outputTokenCount()).isEqualTo((int) local.stats().totalTokens());

      dev.langchain4j.model.openai.OpenAiStreamingChatModel streaming =
          dev.langchain4j.model.openai.OpenAiStreamingChatModel.builder()
              .baseUrl(url(gateway, "/v1")).apiKey(KEY).modelName("pasta-tiny").temperature(0.8).topP(0.95)
              .seed(11).maxTokens(3000).customParameters(custom).timeout(Duration.ofSeconds(60)).build();
      StringBuilder partial = new StringBuilder();
      CompletableFuture<dev.langchain4j.model.chat.response.ChatResponse> done = new CompletableFuture<>();
      streaming.chat(prompt, new dev.langchain4j.model.chat.response.StreamingChatResponseHandler() {
        @Override
        public void onPartialResponse(String text) {
          partial.append(text);
        }

        @Override
        public void onCompleteResponse(dev.langchain4j.model.chat.response.ChatResponse response) {
          done.complete(response);
        }

        @Override
        public void onError(Throwable error) {
          done.completeExceptionally(error);
        }
      });
      dev.langchain4j.model.chat.response.ChatResponse streamed = done.get(60, java.util.concurrent.TimeUnit.SECONDS);
      assertThat(partial.toString()).isEqualTo(local.text());
      assertThat(streamed.aiMessage().text()).isEqualTo(local.text());
    }
  }

  @Test
  void theTraceContext_travelsFromTheGateway_throughTheInterpreter_toTheWorkers() throws Exception {
    HttpResponse<String> response = post("/v1/chat/completions", chatBody("async", false).put("max_tokens", 3)
        .toString());
    String id = json(response.body()).path("id").asText();
    try (org.apache.kafka.clients.consumer.KafkaConsumer<String, String> consumer =
        new org.apache.kafka.clients.consumer.KafkaConsumer<>(Map.of(
            "bootstrap.servers", suite.kafka.bootstrapServers(), "group.id", "trace-check-" + UUID.randomUUID(),
            "auto.offset.reset", "earliest",
            "key.deserializer", org.apache.kafka.common.serialization.StringDeserializer.class,
            "value.deserializer", org.apache.kafka.common.serialization.StringDeserializer.class))) {
      consumer.subscribe(List.of(io.pastaserve.common.messaging.Topics.REQUESTS,
          io.pastaserve.common.messaging.Topics.SPAN_JOBS));
      Map<String, String> traceByTopic = new HashMap<>();
      await().atMost(Duration.ofSeconds(30)).until(() -> {
        for (org.apache.kafka.clients.consumer.ConsumerRecord<String, String> r : consumer.poll(
            Duration.ofMillis(200))) {
          org.apache.kafka.common.header.Header h = r.headers().lastHeader("traceparent");
          if (id.equals(r.key()) && h != null) {
            traceByTopic.put(r.topic(), new String(h.value(), StandardCharsets.US_ASCII));
          }
        }
        return traceByTopic.size() == 2;
      });
      String fromGateway = traceByTopic.get(io.pastaserve.common.messaging.Topics.REQUESTS);
      String toWorker = traceByTopic.get(io.pastaserve.common.messaging.Topics.SPAN_JOBS);
      // traceparent: version-traceid-spanid-flags; one trace, another span
      assertThat(toWorker.split("-")[1]).isEqualTo(fromGateway.split("-")[1]);
      assertThat(toWorker.split("-")[2]).isNotEqualTo(fromGateway.split("-")[2]);
    }
  }

  /**
   * The playground page in a real headless browser (Debian's chromium, driven by playwright-core): a prompt
   * fills at least two lanes, the final text equals the API's answer for the same seed, and a race shows both
   * timings. The screenshot is kept under target/ as a build artifact.
   */
  @Test
  void thePlayground_drawsTheSpansLive_andEndsWithTheApisAnswer() throws Exception {
    java.nio.file.Path dir = Suite.ROOT.resolve("e2e-tests/src/test/node");
    if (!Files.isDirectory(dir.resolve("node_modules/playwright-core"))) {
      run(dir, Map.of(), "npm", "ci", "--no-audit", "--no-fund");
    }
    java.nio.file.Path screenshot = Suite.ROOT.resolve("e2e-tests/target/playground.png");
    Files.createDirectories(screenshot.getParent());
    String out = run(dir, Map.of("BASE_URL", url(gateway, ""), "API_KEY", KEY, "PROMPT", prompt, "SEED", "5",
        "MAX_TOKENS", "600", "SCREENSHOT", screenshot.toString()), "node", "playground.mjs");
    JsonNode result = json(out);
    org.slf4j.LoggerFactory.getLogger(GatewayApiTest.class).info("playground: {} lanes; main-thread tasks over "
        + "50 ms while streaming: {}", result.path("lanes").size(), result.path("longTasks"));
    assertThat(result.path("consoleErrors")).isEmpty();
    List<JsonNode> filled = new ArrayList<>();
    result.path("lanes").forEach(l -> {
      if (!l.path("text").asText().isBlank()) {
        filled.add(l);
      }
    });
    assertThat(filled).hasSizeGreaterThanOrEqualTo(2);
    result.path("lanes").forEach(l -> assertThat(l.path("worker").asText()).as("lane %s names its worker",
        l.path("span").asText()).isNotBlank());
    assertThat(result.path("forkMarks").asInt()).isPositive().isEqualTo(result.path("lanes").size() - 1);
    assertThat(result.path("finalText").asText()).isNotBlank().isEqualTo(result.path("api").asText());
    assertThat(result.path("race").path("runs").asInt()).isEqualTo(2);
    assertThat(result.path("race").path("async").asText()).matches("\\d+\\.\\d\\d s");
    assertThat(result.path("race").path("serial").asText()).matches("\\d+\\.\\d\\d s");
    assertThat(result.path("race").path("finals").get(0).asText())
        .isEqualTo(result.path("race").path("finals").get(1).asText());
    assertThat(screenshot).isNotEmptyFile();
  }

  @Test
  void spanEvents_areOptIn_andCarryEachSpansText() throws Exception {
    ObjectNode body = chatBody("async", true);
    ((ObjectNode) body.get("pasta")).put("stream_spans", true);
    String raw = post("/v1/chat/completions", body.toString()).body();
    Map<String, StringBuilder> lanes = new java.util.TreeMap<>();
    String[] lines = raw.split("\n");
    for (int i = 0; i < lines.length; i++) {
      if (lines[i].equals("event: pasta.span")) {
        JsonNode span = json(lines[i + 1].substring(6));
        StringBuilder lane = lanes.computeIfAbsent(span.path("span").asText(), k -> new StringBuilder());
        span.path("pieces").forEach(p -> lane.append(p.path("text").asText()));
        lane.append(span.path("trailing").asText());
      }
    }
    GenerationResult local = expected.get("async");
    assertThat(lanes).hasSize(local.stats().forks() + 1);
    int total = lanes.values().stream().mapToInt(StringBuilder::length).sum();
    assertThat(total).isEqualTo(local.text().length());
    assertThat(streamedText(events(raw).stream().filter(e -> !e.contains("\"pieces\"")).toList(), true))
        .isEqualTo(local.text());
    assertThat(post("/v1/chat/completions", chatBody("async", true).toString()).body())
        .doesNotContain("pasta.span");
    ObjectNode notStreamed = chatBody("async", false);
    ((ObjectNode) notStreamed.get("pasta")).put("stream_spans", true);
    assertError(post("/v1/chat/completions", notStreamed.toString()), 400, "invalid_value", "pasta.stream_spans");
  }

  /**
   * Load well above a narrow gateway's capacity: every request is either answered or refused at once with 429
   * and Retry-After — nothing else — and once the load stops nothing is left behind: no permit held, no span
   * decoding, no cache held, and no request state in Redis without an expiry.
   */
  @Test
  void sustainedOverload_isRefusedWith429_andLeavesNothingBehind() throws Exception {
    Map<Integer, Integer> statuses = new java.util.TreeMap<>();
    for (int wave = 0; wave < 3; wave++) {
      List<CompletableFuture<HttpResponse<String>>> calls = new ArrayList<>();
      for (int i = 0; i < 12; i++) {
        ObjectNode body = chatBody(i % 2 == 0 ? "async" : "serial", i % 3 == 0).put("max_tokens", 64)
            .put("seed", wave * 100 + i);
        calls.add(HTTP.sendAsync(HttpRequest.newBuilder(URI.create(url(narrowGateway, "/v1/chat/completions")))
            .header("Authorization", "Bearer " + KEY).header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(body.toString())).build(),
            HttpResponse.BodyHandlers.ofString()));
      }
      for (CompletableFuture<HttpResponse<String>> call : calls) {
        HttpResponse<String> r = call.join();
        statuses.merge(r.statusCode(), 1, Integer::sum);
        if (r.statusCode() == 429) {
          assertThat(r.headers().firstValue("Retry-After")).isPresent();
        }
      }
    }
    assertThat(statuses.keySet()).as("statuses %s", statuses).containsOnly(200, 429);
    assertThat(statuses.get(429)).isPositive();
    Engine engine = worker.getBean(Engine.class);
    await().atMost(Duration.ofSeconds(30)).until(() -> engine.load().get().activeSpans() == 0
        && engine.load().get().kvTokens() == 0);
    await().atMost(Duration.ofSeconds(10)).until(() -> metric(narrowGateway, "pasta_gateway_requests_running") == 0
        && metric(gateway, "pasta_gateway_requests_running") == 0);
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
      java.util.Set<String> keys = suite.redis.keys("pasta:{*");
      assertThat(keys).allSatisfy(k -> {
        assertThat(k).matches("pasta:\\{[^}]+}:(request|output)");
        assertThat(suite.redis.getExpire(k)).as(k).isPositive();
      });
    });
  }

  /**
   * A resumable stream survives its client: the client reads part of the answer, hangs up, and reads the rest
   * with {@code Last-Event-ID} — together exactly the answer, nothing repeated or missing.
   */
  @Test
  void aResumableStream_isReadAgainWithLastEventId() throws Exception {
    ObjectNode body = chatBody("async", true);
    ((ObjectNode) body.get("pasta")).put("resumable", true);
    HttpResponse<InputStream> response = HTTP.send(HttpRequest.newBuilder(URI.create(url(gateway,
            "/v1/chat/completions"))).header("Authorization", "Bearer " + KEY).header("Content-Type",
            "application/json").POST(HttpRequest.BodyPublishers.ofString(body.toString())).build(),
        HttpResponse.BodyHandlers.ofInputStream());
    StringBuilder before = new StringBuilder();
    String lastId = null;
    String id = null;
    int contentEvents = 0;
    try (java.io.BufferedReader reader = new java.io.BufferedReader(new java.io.InputStreamReader(response.body(),
        StandardCharsets.UTF_8))) {
      String pendingId = null;
      String line;
      while (contentEvents < 2 && (line = reader.readLine()) != null) {
        if (line.startsWith("id: ")) {
          pendingId = line.substring(4);
        } else if (line.startsWith("data: {")) {
          JsonNode chunk = json(line.substring(6));
          id = chunk.path("id").asText();
          String content = chunk.path("choices").path(0).path("delta").path("content").asText("");
          if (pendingId != null) {
            before.append(content);
            lastId = pendingId;
            if (!content.isEmpty()) {
              contentEvents++;
            }
          }
          pendingId = null;
        }
      }
    }
    assertThat(lastId).isNotNull();
    HttpResponse<String> rest = HTTP.send(HttpRequest.newBuilder(URI.create(url(gateway, "/v1/pasta/streams/" + id)))
        .header("Authorization", "Bearer " + KEY).header("Last-Event-ID", lastId).GET().build(),
        HttpResponse.BodyHandlers.ofString());
    assertThat(rest.statusCode()).as(rest.body()).isEqualTo(200);
    assertThat(before + streamedText(events(rest.body()), true)).isEqualTo(expected.get("async").text());
    assertError(get(gateway, "/v1/pasta/streams/chatcmpl-" + "0".repeat(32), KEY), 404, "stream_not_found", "id");
  }

  static double metric(ConfigurableApplicationContext app, String series) throws Exception {
    return get(app, "/actuator/prometheus", null).body().lines().filter(l -> l.startsWith(series + " ")
            || l.startsWith(series + "{")).mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1)))
        .sum();
  }
}
