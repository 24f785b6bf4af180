package io.pastaserve.common.lang;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class OrderedAssemblerTest {

  @Test
  void textAfterAPromise_waitsForTheChunk() {
    List<String> out = new ArrayList<>();
    OrderedAssembler a = new OrderedAssembler(out::add);
    SpanId fork = SpanId.MAIN.child(1);
    a.text(SpanId.MAIN, "Tips:");
    a.fork(SpanId.MAIN, fork);
    a.text(SpanId.MAIN, " Done.");
    assertThat(a.assembled()).isEqualTo("Tips:");
    a.text(fork, " Sleep");
    assertThat(a.assembled()).isEqualTo("Tips: Sleep");
    a.text(fork, " 8h.");
    a.end(fork);
    assertThat(a.assembled()).isEqualTo("Tips: Sleep 8h. Done.");
    assertThat(a.complete()).isFalse();
    a.end(SpanId.MAIN);
    assertThat(a.complete()).isTrue();
    assertThat(String.join("", out)).isEqualTo(a.assembled());
  }

  @Test
  void laterChunks_waitForEarlierOnes_evenWhenTheyFinishFirst() {
    OrderedAssembler a = new OrderedAssembler(s -> { });
    SpanId one = SpanId.MAIN.child(1);
    SpanId two = SpanId.MAIN.child(2);
    a.fork(SpanId.MAIN, one);
    a.fork(SpanId.MAIN, two);
    a.text(two, "B");
    a.end(two);
    a.end(SpanId.MAIN);
    assertThat(a.assembled()).isEmpty();
    a.text(one, "A");
    assertThat(a.assembled()).isEqualTo("A");
    a.end(one);
    assertThat(a.assembled()).isEqualTo("AB");
    assertThat(a.complete()).isTrue();
  }
}
