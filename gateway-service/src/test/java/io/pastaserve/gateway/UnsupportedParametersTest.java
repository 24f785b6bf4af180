package io.pastaserve.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.pastaserve.testing.RedisTestServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.kafka.test.context.EmbeddedKafka;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import org.springframework.test.web.reactive.server.WebTestClient;

/**
 * Every OpenAI chat/completions field, one row each: what the gateway does with it. A field whose value would change
 * the answer and that this server does not implement is a 400 with {@code code: "unsupported_parameter"} and
 * {@code param} naming it, never silently ignored; its neutral value, and fields that change nothing about the
 * answer, pass validation — which, with no worker alive behind this gateway, is the 503 {@code no_worker} that comes
 * after it. The gateway runs over a real Redis and a real (embedded KRaft) broker.
 */
@EmbeddedKafka(kraft = true, partitions = 2, bootstrapServersProperty = "spring.kafka.bootstrap-servers")
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, properties = {
    "pasta.gateway.model-dir=../models/pasta-tiny", "pasta.gateway.api-keys=params-key"})
class UnsupportedParametersTest {

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

  final ObjectMapper json = new ObjectMapper();

  /** The endpoint ({@code chat} or {@code text}), a field with its value, and what the gateway answers. */
  @ParameterizedTest(name = "{0} {1}: {2}={3} -> {4} {5}")
  @CsvSource(delimiter = '|', quoteCharacter = '`', textBlock = """
      # endpoint | field | value | status | code | param
      chat | response_format | {"type":"json_object"} | 400 | unsupported_parameter | response_format
      chat | response_format | {"type":"json_schema","json_schema":{"name":"a"}} | 400 | unsupported_parameter | response_format
      chat | response_format | {"type":"text"} | 503 | no_worker |
      chat | response_format | "json" | 400 | invalid_value | response_format
      text | echo | true | 400 | unsupported_parameter | echo
      text | echo | false | 503 | no_worker |
      text | suffix | "and that is all." | 400 | unsupported_parameter | suffix
      text | suffix | "" | 503 | no_worker |
      text | best_of | 3 | 400 | unsupported_parameter | best_of
      text | best_of | 1 | 503 | no_worker |
      chat | logit_bias | {"50256":-100} | 400 | unsupported_parameter | logit_bias
      text | logit_bias | {"11":5} | 400 | unsupported_parameter | logit_bias
      chat | logit_bias | {} | 503 | no_worker |
      chat | logprobs | true | 400 | unsupported_parameter | logprobs
      text | logprobs | 2 | 400 | unsupported_parameter | logprobs
      chat | logprobs | false | 503 | no_worker |
      text | logprobs | 0 | 503 | no_worker |
      chat | top_logprobs | 3 | 400 | unsupported_parameter | top_logprobs
      chat | top_logprobs | 0 | 503 | no_worker |
      chat | tools | [{"type":"function","function":{"name":"f"}}] | 400 | unsupported_parameter | tools
      chat | tools | [] | 503 | no_worker |
      chat | tool_choice | "required" | 400 | unsupported_parameter | tool_choice
      chat | tool_choice | {"type":"function","function":{"name":"f"}} | 400 | unsupported_parameter | tool_choice
      chat | tool_choice | "none" | 503 | no_worker |
      chat | tool_choice | "auto" | 503 | no_worker |
      chat | functions | [{"name":"f"}] | 400 | unsupported_parameter | functions
      chat | function_call | {"name":"f"} | 400 | unsupported_parameter | function_call
      chat | function_call | "none" | 503 | no_worker |
      chat | parallel_tool_calls | true | 503 | no_worker |
      chat | presence_penalty | 0.5 | 400 | unsupported_parameter | presence_penalty
      text | frequency_penalty | -1 | 400 | unsupported_parameter | frequency_penalty
      chat | frequency_penalty | 0 | 503 | no_worker |
      chat | presence_penalty | 0.0 | 503 | no_worker |
      chat | presence_penalty | 3 | 400 | invalid_value | presence_penalty
      chat | n | 2 | 400 | invalid_value | n
      chat | n | 1 | 503 | no_worker |
      chat | audio | {"voice":"alloy","format":"wav"} | 400 | unsupported_parameter | audio
      chat | modalities | ["text","audio"] | 400 | unsupported_parameter | modalities
      chat | modalities | ["text"] | 503 | no_worker |
      chat | reasoning_effort | "high" | 400 | unsupported_parameter | reasoning_effort
      chat | verbosity | "low" | 400 | unsupported_parameter | verbosity
      chat | web_search_options | {} | 400 | unsupported_parameter | web_search_options
      chat | prediction | {"type":"content","content":"x"} | 503 | no_worker |
      chat | user | "u-1" | 503 | no_worker |
      chat | metadata | {"team":"a"} | 503 | no_worker |
      chat | store | false | 503 | no_worker |
      chat | service_tier | "auto" | 503 | no_worker |
      chat | safety_identifier | "s-1" | 503 | no_worker |
      chat | prompt_cache_key | "k" | 503 | no_worker |
      chat | seed | 7 | 503 | no_worker |
      """)
  void eachField_isRefusedWhenItWouldChangeTheAnswer_andAcceptedWhenNeutral(String endpoint, String field,
      String value, int status, String code, String param) throws Exception {
    boolean chat = endpoint.equals("chat");
    String body = "{\"model\":\"pasta-tiny\","
        + (chat ? "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]" : "\"prompt\":\"hi\"")
        + ",\"" + field + "\":" + value + "}";
    String response = client.post().uri(chat ? "/v1/chat/completions" : "/v1/completions")
        .header("Authorization", "Bearer params-key").header("Content-Type", "application/json").bodyValue(body)
        .exchange()
        .expectStatus().isEqualTo(status)
        .expectBody(String.class).returnResult().getResponseBody();
    JsonNode error = json.readTree(response).path("error");
    assertThat(error.path("code").asText()).as(response).isEqualTo(code);
    assertThat(error.path("type").asText()).isEqualTo(status == 400 ? "invalid_request_error"
        : "service_unavailable");
    assertThat(error.path("message").asText()).isNotBlank();
    if (param == null) {
      assertThat(error.path("param").isNull()).as(response).isTrue();
    } else {
      assertThat(error.path("param").asText()).as(response).isEqualTo(param);
    }
  }
}
