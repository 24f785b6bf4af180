package io.pastaserve.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import io.pastaserve.testing.RedisTestServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/**
 * However a client spells a path that reaches the API — matrix parameters, percent-encoding, case, doubled
 * slashes, dot segments, encoded separators, a trailing slash — it is served only with an API key: without one
 * the answer is 401 (404 for a spelling that routes nowhere), never an answer; with the key, a spelling under
 * {@code /v1} that is not written plainly is refused with 400. Requests go out as
 * raw HTTP/1.1 so that no client library tidies the path on the way.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, properties = {
    "pasta.gateway.model-dir=../models/pasta-tiny", "pasta.gateway.api-keys=path-key",
    "spring.kafka.bootstrap-servers=127.0.0.1:9", "spring.kafka.admin.auto-create=false",
    "spring.kafka.producer.properties.max.block.ms=500", "pasta.gateway.enqueue-timeout=700ms"})
class ApiKeyPathSpellingTest {

  static final String CHAT = "{\"model\":\"pasta-tiny\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],"
      + "\"max_tokens\":5}";
  static final String COMPLETION = "{\"model\":\"pasta-tiny\",\"prompt\":\"hi\",\"max_tokens\":5}";

  static final List<String> GETS = List.of(
      "/v1/models", "/v1/models/", "/v1/models;x", "/v1/models;x=1/", "/v1;a/models", "/v1;/models",
      "/v1;a=b;c=d/models", "/%76%31/models", "/%76%31/%6d%6f%64%65%6c%73", "/v%31/models", "/%56%31/models",
      "/V1/models", "/v1/MODELS", "//v1/models", "///v1/models", "/v1//models", "/v1/./models", "/./v1/models",
      "/x/../v1/models", "/v1/x/../models", "/v1/%2e/models", "/%2e/v1/models", "/x/%2e%2e/v1/models",
      "/v1%2Fmodels", "/v1%2fmodels", "/%2Fv1/models", "/%2Fv1%2Fmodels", "/v1/models%2F", "/v1%5Cmodels",
      "/v1%3Ba/models", "/v1%3bmodels", "/v1/models/pasta-tiny", "/v1/models/pasta-tiny;x",
      "/v1/models;x/pasta-tiny", "/%76%31/models/pasta-tiny", "/v1/pasta/streams/chatcmpl-1",
      "/v1/pasta/streams/chatcmpl-1;x", "/v1;x/pasta/streams/chatcmpl-1", "/%76%31/pasta/streams/chatcmpl-1",
      "/v1", "/v1/", "/v1;x", "/%76%31", "/v1/models?x=1", "/v1;a/models?x=1");

  static final List<String> POSTS = List.of(
      "/v1/chat/completions", "/v1/chat/completions/", "/v1;a/chat/completions", "/v1/chat;a/completions",
      "/v1/chat/completions;a", "/%76%31/chat/completions", "/v1/%63hat/completions", "/V1/chat/completions",
      "//v1/chat/completions", "/v1//chat/completions", "/v1/./chat/completions", "/x/../v1/chat/completions",
      "/v1%2Fchat%2Fcompletions", "/v1/chat%2Fcompletions", "/v1/completions", "/v1;a/completions",
      "/%76%31/completions", "/v1/completions;x", "/v1/./completions", "/v1%3B/completions");

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

  @Test
  void everySpellingOfAnApiPath_withoutAKey_isRefused() throws IOException {
    List<String> served = new ArrayList<>();
    for (String path : GETS) {
      int status = status("GET", path, null, null);
      if (status != 401 && status != 404) {
        served.add("GET " + path + " -> " + status);
      }
    }
    for (String path : POSTS) {
      String body = path.contains("chat") ? CHAT : COMPLETION;
      int status = status("POST", path, body, null);
      if (status != 401 && status != 404) {
        served.add("POST " + path + " -> " + status);
      }
    }
    assertThat(served).as("paths answered without an API key, or not with 401").isEmpty();
  }

  @Test
  void aPathThatReachesTheApi_withAWrongKey_is401() throws IOException {
    for (String path : List.of("/v1/models", "/v1;a/models", "/%76%31/models", "/v1/models;x")) {
      assertThat(status("GET", path, null, "not-the-key")).as(path).isEqualTo(401);
    }
  }

  @Test
  void plainlyWrittenPaths_withTheKey_areServed() throws IOException {
    assertThat(status("GET", "/v1/models", null, "path-key")).isEqualTo(200);
    assertThat(status("GET", "/v1/models?x=1", null, "path-key")).isEqualTo(200);
    assertThat(status("GET", "/v1/models/pasta-tiny", null, "path-key")).isEqualTo(200);
    // no worker is alive: the request is taken up, and refused for that reason, not for the path
    assertThat(status("POST", "/v1/chat/completions", CHAT, "path-key")).isEqualTo(503);
    // the playground's page is not under /v1 and needs no key
    assertThat(status("GET", "/", null, null)).isEqualTo(200);
  }

  @Test
  void oddSpellingsUnderV1_areRefusedWith400_evenWithTheKey() throws IOException {
    for (String path : List.of("/v1;a/models", "/%76%31/models", "/v1/models;x", "//v1/models", "/v1/./models",
        "/v1%2Fmodels", "/x/../v1/models")) {
      assertThat(status("GET", path, null, "path-key")).as(path).isIn(400, 404);
    }
  }

  /** The status of one raw HTTP/1.1 request whose request line carries {@code path} exactly as given. */
  int status(String method, String path, String body, String key) throws IOException {
    try (Socket socket = new Socket("127.0.0.1", port)) {
      socket.setSoTimeout(30_000);
      byte[] payload = body == null ? new byte[0] : body.getBytes(StandardCharsets.UTF_8);
      StringBuilder head = new StringBuilder(method).append(' ').append(path).append(" HTTP/1.1\r\n")
          .append("Host: 127.0.0.1:").append(port).append("\r\nConnection: close\r\n");
      if (key != null) {
        head.append("Authorization: Bearer ").append(key).append("\r\n");
      }
      if (body != null) {
        head.append("Content-Type: application/json\r\nContent-Length: ").append(payload.length).append("\r\n");
      }
      head.append("\r\n");
      OutputStream out = socket.getOutputStream();
      out.write(head.toString().getBytes(StandardCharsets.US_ASCII));
      out.write(payload);
      out.flush();
      InputStream in = socket.getInputStream();
      StringBuilder line = new StringBuilder();
      for (int c = in.read(); c != -1 && c != '\n'; c = in.read()) {
        line.append((char) c);
      }
      String[] parts = line.toString().split(" ");
      assertThat(parts.length).as("status line of %s %s: %s", method, path, line).isGreaterThanOrEqualTo(2);
      return Integer.parseInt(parts[1]);
    }
  }
}
