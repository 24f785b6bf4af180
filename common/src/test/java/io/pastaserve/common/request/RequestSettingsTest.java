package io.pastaserve.common.request;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.List;
import org.junit.jupiter.api.Test;

class RequestSettingsTest {

  final ObjectMapper json = new ObjectMapper();

  @Test
  void wireNames_areTheLowerCaseNames_inJsonToo() throws Exception {
    assertThat(Mode.ASYNC.wire()).isEqualTo("async");
    assertThat(Mode.SERIAL.wire()).isEqualTo("serial");
    assertThat(List.of(FinishReason.values()).stream().map(FinishReason::wire))
        .containsExactly("stop", "length", "cancelled", "error");
    assertThat(json.writeValueAsString(Mode.SERIAL)).isEqualTo("\"serial\"");
    assertThat(json.readValue("\"length\"", FinishReason.class)).isEqualTo(FinishReason.LENGTH);
  }

  @Test
  void mode_readsAnyCase_andNamesTheFieldWhenUnknown() {
    assertThat(Mode.of(" Serial ")).isEqualTo(Mode.SERIAL);
    assertThatThrownBy(() -> Mode.of("parallel")).isInstanceOfSatisfying(InvalidSettingException.class,
        e -> assertThat(e.field()).isEqualTo("mode")).hasMessageContaining("\"async\" or \"serial\"");
  }

  @Test
  void finishReason_knowsWhichAreAnswers() {
    assertThat(FinishReason.STOP.isAnswer()).isTrue();
    assertThat(FinishReason.LENGTH.isAnswer()).isTrue();
    assertThat(FinishReason.CANCELLED.isAnswer()).isFalse();
    assertThat(FinishReason.fromWire("exploded")).isEmpty();
  }

  @Test
  void sampling_namesTheSettingOutOfRange() {
    assertThat(field(() -> new Sampling(-1, 1, 0, 0, 5, List.of()))).isEqualTo("temperature");
    assertThat(field(() -> new Sampling(0, 0, 0, 0, 5, List.of()))).isEqualTo("top_p");
    assertThat(field(() -> new Sampling(0, 1, -1, 0, 5, List.of()))).isEqualTo("top_k");
    assertThat(field(() -> new Sampling(0, 1, 0, 0, 0, List.of()))).isEqualTo("max_tokens");
    assertThat(field(() -> new Sampling(0, 1, 0, 0, 5, List.of("")))).isEqualTo("stop");
    assertThatThrownBy(() -> new Sampling(0, 0, 0, 0, 5, List.of()))
        .hasMessage("top_p must be greater than 0 and at most 1, not 0");
    assertThat(Sampling.greedy(7).isGreedy()).isTrue();
  }

  @Test
  void aMessageWithoutTopP_keepsAllTokens() throws Exception {
    assertThat(json.readValue("{\"temperature\":0.5,\"maxTokens\":5}", Sampling.class).topP()).isEqualTo(1);
  }

  @Test
  void sampling_travelsAsItsSixSettings() throws Exception {
    assertThat(json.writeValueAsString(new Sampling(0.5, 0.9, 4, 7, 30, List.of("##"))))
        .isEqualTo("{\"temperature\":0.5,\"topP\":0.9,\"topK\":4,\"seed\":7,\"maxTokens\":30,\"stop\":[\"##\"]}");
  }

  private static String field(Runnable make) {
    try {
      make.run();
    } catch (InvalidSettingException e) {
      return e.field();
    }
    throw new AssertionError("accepted");
  }
}
