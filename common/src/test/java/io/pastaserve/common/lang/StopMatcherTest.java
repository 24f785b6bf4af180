package io.pastaserve.common.lang;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.StringLength;
import org.junit.jupiter.api.Test;

class StopMatcherTest {

  @Test
  void aStopStringSplitAcrossPieces_isFound_andTextBeforeItReleased() {
    StopMatcher m = new StopMatcher(List.of("END"));
    assertThat(m.feed("abc E")).isEqualTo("abc ");
    assertThat(m.feed("N")).isEmpty();
    assertThat(m.feed("Dxyz")).isEmpty();
    assertThat(m.matched()).isTrue();
    assertThat(m.feed("more")).isEmpty();
    assertThat(m.finish()).isEmpty();
  }

  @Test
  void aFalseStart_isReleasedOnceItCannotMatch() {
    StopMatcher m = new StopMatcher(List.of("END"));
    assertThat(m.feed("EN")).isEmpty();
    assertThat(m.feed("x")).isEqualTo("ENx");
    assertThat(m.feed("E")).isEmpty();
    assertThat(m.finish()).isEqualTo("E");
    assertThat(m.matched()).isFalse();
  }

  @Test
  void theEarliestOfSeveralStops_wins() {
    StopMatcher m = new StopMatcher(List.of("zz", "b"));
    assertThat(m.feed("a b zz")).isEqualTo("a ");
  }

  @Test
  void noStops_releaseEverything() {
    StopMatcher m = new StopMatcher(List.of());
    assertThat(m.feed("E")).isEqualTo("E");
    assertThat(m.finish()).isEmpty();
  }

  @Property
  void released_isTheSameWhateverTheSplits(@ForAll @StringLength(max = 40) String raw,
      @ForAll @IntRange(min = 1, max = 7) int step) {
    String text = raw.replaceAll("[^abc]", "a");
    List<String> stops = List.of("abc", "cc");
    StopMatcher whole = new StopMatcher(stops);
    String expected = whole.feed(text) + whole.finish();
    StopMatcher pieces = new StopMatcher(stops);
    StringBuilder out = new StringBuilder();
    for (int i = 0; i < text.length(); i += step) {
      out.append(pieces.feed(text.substring(i, Math.min(text.length(), i + step))));
    }
    out.append(pieces.finish());
    assertThat(out.toString()).isEqualTo(expected);
    int cut = text.length();
    for (String s : stops) {
      int at = text.indexOf(s);
      if (at >= 0) {
        cut = Math.min(cut, at);
      }
    }
    assertThat(expected).isEqualTo(text.substring(0, cut));
  }
}
