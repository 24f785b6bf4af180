package io.pastaserve.gateway.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.pastaserve.common.request.Mode;
import io.pastaserve.common.request.Sampling;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.springframework.http.HttpStatus;

/** The API request becomes the shared types as they are; a setting they refuse is a 400 naming its field. */
class RequestParserTest {

  final RequestParser parser = new RequestParser(new ObjectMapper(), 256, 4096);

  CompletionRequest parse(String json) {
    return parser.parse(json.getBytes(StandardCharsets.UTF_8), false);
  }

  @Test
  void theSettings_becomeOneSampling_andOneMode() {
    CompletionRequest req = parse("{\"model\":\"m\",\"prompt\":\"p\",\"max_tokens\":40,\"temperature\":0.5,"
        + "\"top_p\":0.9,\"seed\":5,\"stop\":\"zz\",\"pasta\":{\"mode\":\"SERIAL\"}}");
    assertThat(req.sampling()).isEqualTo(new Sampling(0.5, 0.9, 0, 5, 40, java.util.List.of("zz")));
    assertThat(req.mode()).isEqualTo(Mode.SERIAL);
    assertThat(parse("{\"model\":\"m\",\"prompt\":\"p\"}").mode()).isEqualTo(Mode.ASYNC);
  }

  @Test
  void aTopPOfZero_isRefusedBySampling_asA400NamingTopP() {
    assertThatThrownBy(() -> parse("{\"model\":\"m\",\"prompt\":\"p\",\"top_p\":0}"))
        .isInstanceOfSatisfying(ApiException.class, e -> {
          assertThat(e.status()).isEqualTo(HttpStatus.BAD_REQUEST);
          assertThat(e.param()).isEqualTo("top_p");
        }).hasMessage("top_p must be greater than 0 and at most 1, not 0");
  }

  @Test
  void anUnknownMode_isA400NamingPastaMode() {
    assertThatThrownBy(() -> parse("{\"model\":\"m\",\"prompt\":\"p\",\"pasta\":{\"mode\":\"turbo\"}}"))
        .isInstanceOfSatisfying(ApiException.class, e -> assertThat(e.param()).isEqualTo("pasta.mode"));
  }
}
