package io.pastaserve.common.lang;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class SpanIdTest {

  @Test
  void parent_isTheSpanThatForksIt_andTheMainSpanHasNone() {
    assertThat(SpanId.MAIN.parent()).isEmpty();
    assertThat(SpanId.of("0.2").parent()).contains(SpanId.MAIN);
    assertThat(SpanId.of("0.2.11").parent()).contains(SpanId.of("0.2"));
    assertThat(SpanId.of("0.2.11").depth()).isEqualTo(2);
  }

  @Test
  void valid_saysWhatOfAccepts() {
    assertThat(SpanId.valid("0.1.3")).isTrue();
    assertThat(SpanId.valid("1")).isFalse();
    assertThat(SpanId.valid("0.0")).isFalse();
    assertThat(SpanId.valid("")).isFalse();
    assertThat(SpanId.valid(null)).isFalse();
  }
}
