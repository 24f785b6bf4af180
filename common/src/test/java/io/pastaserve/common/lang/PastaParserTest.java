package io.pastaserve.common.lang;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

class PastaParserTest {

  private static List<PastaEvent> parse(String s) {
    return PastaParser.parseAll(s, PastaLimits.defaults());
  }

  @Test
  void copy_readsOnAsTheOriginal_whereverItWasTaken() {
    String text = "a<promise topic=\"x\" tokens=\"3\"/>b<sync<promise topic='y'/>c</async><sy<sync/>nc/>d<promise "
        + "topic=\"z";
    for (int cut = 0; cut <= text.length(); cut++) {
      PastaParser original = new PastaParser();
      List<PastaEvent> before = original.feed(text.substring(0, cut));
      PastaParser copy = original.copy();
      assertThat(copy.pending()).isEqualTo(original.pending());
      List<PastaEvent> fromCopy = new ArrayList<>(copy.feed(text.substring(cut)));
      copy.finish(fromCopy::add);
      List<PastaEvent> fromOriginal = new ArrayList<>(original.feed(text.substring(cut)));
      original.finish(fromOriginal::add);
      assertThat(fromCopy).as("cut at %d", cut).isEqualTo(fromOriginal);
      List<PastaEvent> whole = new ArrayList<>(before);
      whole.addAll(fromOriginal);
      assertThat(whole.stream().filter(e -> !(e instanceof PastaEvent.Text)).toList())
          .isEqualTo(parse(text).stream().filter(e -> !(e instanceof PastaEvent.Text)).toList());
    }
  }

  @Test
  void promise_withTopicAndTokens() {
    assertThat(parse("a<promise topic=\"sleep\" tokens=\"30\"/>b")).containsExactly(
        new PastaEvent.Text("a"),
        new PastaEvent.Promise("sleep", OptionalInt.of(30), "<promise topic=\"sleep\" tokens=\"30\"/>"),
        new PastaEvent.Text("b"));
  }

  @Test
  void promise_tokensOptional_attributesInAnyOrder_spacesAllowed() {
    assertThat(parse("<promise topic=\"x\"/>")).containsExactly(
        new PastaEvent.Promise("x", OptionalInt.empty(), "<promise topic=\"x\"/>"));
    assertThat(parse("<promise  tokens=\"7\"\ttopic=\"y z\" />")).containsExactly(
        new PastaEvent.Promise("y z", OptionalInt.of(7), "<promise  tokens=\"7\"\ttopic=\"y z\" />"));
  }

  @Test
  void asyncOpenCloseAndSync() {
    assertThat(parse("<async topic=\"t\">x</async></async ><sync/><sync />")).containsExactly(
        new PastaEvent.AsyncOpen("t", "<async topic=\"t\">"),
        new PastaEvent.Text("x"),
        new PastaEvent.AsyncClose("</async>"),
        new PastaEvent.AsyncClose("</async >"),
        new PastaEvent.Sync("<sync/>"),
        new PastaEvent.Sync("<sync />"));
  }

  @Test
  void canonicalForms_roundTripThroughTheParser() {
    PastaEvent.Promise promise = PastaEvent.Promise.of("a b", OptionalInt.of(12));
    assertThat(parse(promise.raw())).containsExactly(promise);
    assertThat(parse(PastaEvent.AsyncOpen.of("a b").raw())).containsExactly(PastaEvent.AsyncOpen.of("a b"));
    assertThat(parse(PastaEvent.Sync.CANONICAL)).containsExactly(PastaEvent.Sync.canonical());
    assertThat(parse(PastaEvent.AsyncClose.CANONICAL)).containsExactly(PastaEvent.AsyncClose.canonical());
  }

  @Test
  void tagNotEndedWithinTheLimit_isText() {
    String ok = "<promise topic=\"" + "t".repeat(64) + "\"/>";
    String tooLong = "<promise topic=\"" + "t".repeat(200) + "\"/>";
    assertThat(parse(ok)).singleElement().isEqualTo(new PastaEvent.Promise("t".repeat(64), OptionalInt.empty(), ok));
    assertThat(parse(tooLong)).containsExactly(new PastaEvent.Text(tooLong));
    PastaLimits longer = new PastaLimits(32, 1, 200);
    assertThat(PastaParser.parseAll(tooLong, longer)).singleElement()
        .isEqualTo(new PastaEvent.Promise("t".repeat(200), OptionalInt.empty(), tooLong));
  }

  @Test
  void failedCandidate_rescansForALaterTag() {
    assertThat(parse("<<sync/>")).containsExactly(new PastaEvent.Text("<"), PastaEvent.Sync.canonical());
    assertThat(parse("<promises<sync/>")).containsExactly(
        new PastaEvent.Text("<promises"), PastaEvent.Sync.canonical());
  }

  @Test
  void tagSplitAcrossPieces_atEveryCharacter() {
    String s = "Tips:<promise topic=\"sleep\" tokens=\"30\"/><async topic=\"sleep\"> Sleep 8h.</async><sync/> Done.";
    List<PastaEvent> whole = parse(s);
    for (int cut = 0; cut <= s.length(); cut++) {
      PastaParser parser = new PastaParser();
      List<PastaEvent> events = new ArrayList<>();
      parser.feed(s.substring(0, cut), events::add);
      parser.feed(s.substring(cut), events::add);
      parser.finish(events::add);
      assertThat(mergeText(events)).as("cut at %d", cut).isEqualTo(whole);
    }
  }

  @Test
  void textIsEmittedEagerly_onlyAPossibleTagIsHeldBack() {
    PastaParser parser = new PastaParser();
    assertThat(parser.feed("Hello <prom")).containsExactly(new PastaEvent.Text("Hello "));
    assertThat(parser.pending()).isEqualTo("<prom");
    assertThat(parser.feed("ising")).containsExactly(new PastaEvent.Text("<promising"));
    assertThat(parser.pending()).isEmpty();
    assertThat(parser.feed(" <sy")).containsExactly(new PastaEvent.Text(" "));
    assertThat(parser.finish()).containsExactly(new PastaEvent.Text("<sy"));
  }

  @Test
  void onePiece_mayHoldSeveralTags() {
    PastaParser parser = new PastaParser();
    List<PastaEvent> events = parser.feed("<sync/><sync/>x</async>");
    assertThat(events).containsExactly(PastaEvent.Sync.canonical(), PastaEvent.Sync.canonical(),
        new PastaEvent.Text("x"), PastaEvent.AsyncClose.canonical());
  }

  @Test
  void adversarialInput_isLinear_andLossless() {
    // tags cut off by the next '<' over and over, then text long enough that the last is not ended by the end
    String unit = "<promise topic=\"" + "a".repeat(63) + "<async topic=\"b";
    String tail = "x".repeat(200);
    String s = unit.repeat(20_000) + tail;
    List<PastaEvent> events = parse(s);
    assertThat(events).hasSize(40_000);
    assertThat(events.subList(0, 39_999)).allMatch(PastaEvent.BrokenTag.class::isInstance);
    assertThat(events.stream().map(PastaEvent::raw).collect(Collectors.joining())).isEqualTo(s);
    String neverEnded = ("<promise " + "a".repeat(200)).repeat(10_000);
    assertThat(parse(neverEnded)).containsExactly(new PastaEvent.Text(neverEnded));
    String ended = (unit + ">").repeat(20_000);
    List<PastaEvent> tags = parse(ended);
    assertThat(tags).hasSize(40_000);
    assertThat(tags.stream().filter(PastaEvent.AsyncOpen.class::isInstance)).hasSize(20_000);
    assertThat(tags.stream().map(PastaEvent::raw).collect(Collectors.joining())).isEqualTo(ended);
  }

  static List<PastaEvent> mergeText(List<PastaEvent> events) {
    List<PastaEvent> merged = new ArrayList<>();
    for (PastaEvent e : events) {
      int last = merged.size() - 1;
      if (e instanceof PastaEvent.Text t && last >= 0 && merged.get(last) instanceof PastaEvent.Text p) {
        merged.set(last, new PastaEvent.Text(p.text() + t.text()));
      } else {
        merged.add(e);
      }
    }
    return merged;
  }
}
