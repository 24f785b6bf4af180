package io.pastaserve.common.lang;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.params.provider.Arguments.arguments;

import java.util.List;
import java.util.OptionalInt;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Golden cases of tags the model writes with odd attributes, quoting or spacing: each is still its tag (a
 * malformed {@code tokens} hint ignored, a defect reported), so no markup reaches the assembled text.
 */
class MalformedTagTest {

  private static List<PastaEvent> parse(String s) {
    return PastaParser.parseAll(s, PastaLimits.defaults());
  }

  /** The one event {@code tag} parses to, checked to be a tag that stands for all of it. */
  private static PastaEvent single(String tag) {
    List<PastaEvent> events = parse(tag);
    assertThat(events).as("events of %s", tag).hasSize(1);
    PastaEvent event = events.get(0);
    assertThat(event).isNotInstanceOf(PastaEvent.Text.class);
    assertThat(event.raw()).isEqualTo(tag);
    return event;
  }

  private static PastaEvent.Promise promise(String tag) {
    PastaEvent event = single(tag);
    assertThat(event).isInstanceOf(PastaEvent.Promise.class);
    return (PastaEvent.Promise) event;
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {
      "tokens=\"many\"",
      "tokens=\"-7\"",
      "tokens=\"\"",
      "tokens=\"1e3\"",
      "tokens=\"1234567890\"",
      "tokens=\"99999999999999999999999\"",
      "tokens=\"+5\"",
      "tokens=\" 5\"",
      "tokens=\"5.0\"",
      "tokens='5'",
      "tokens=5",
      "tokens = \"5\"",
      "TOKENS=\"5\"",
      "tokens",
      "tokens=\"1\" tokens=\"2\"",
  })
  void promise_withAMalformedTokensHint_isStillAPromise_theHintIgnored(String tokens) {
    String tag = "<promise topic=\"sleep\" " + tokens + "/>";
    PastaEvent.Promise p = promise(tag);
    assertThat(p.topic()).isEqualTo("sleep");
    assertThat(p.predictedTokens()).isEmpty();
    assertThat(p.defects()).isNotEmpty().anyMatch(d -> d.contains("tokens"));
  }

  static Stream<Arguments> promisesWithOddTopics() {
    return Stream.of(
        arguments("<promise topic=sleep/>", "sleep"),
        arguments("<promise topic='sleep'/>", "sleep"),
        arguments("<promise topic = \"sleep\" />", "sleep"),
        arguments("<promise topic=\"sleep\" topic=\"water\"/>", "sleep"),
        arguments("<promise TOPIC=\"sleep\"/>", "sleep"),
        arguments("<promise topic=\"sleep\">", "sleep"),
        arguments("<promise topic=\"sleep\" size=\"3\"/>", "sleep"),
        arguments("<promise topic=\"sleep\"/ >", "sleep"),
        arguments("<promise\ntopic=\"sleep\"\r\n/>", "sleep"),
        arguments("<promise topic=\"sle\nep\"/>", "sle ep"),
        arguments("<promise topic=\"sleep\"tokens=\"3\"/>", "sleep"),
        arguments("<promise topic=\"sleep/>", "sleep"),
        arguments("<promise tokens=\"3\"/>", ""),
        arguments("<promise/>", ""),
        arguments("<promise>", ""),
        arguments("<promise />", ""),
        arguments("<promise topic/>", ""));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("promisesWithOddTopics")
  void promise_withOddTopicQuotingOrSpacing_isAPromise_withTheTopicReadLeniently(String tag, String topic) {
    PastaEvent.Promise p = promise(tag);
    assertThat(p.topic()).isEqualTo(topic);
    assertThat(p.defects()).isNotEmpty();
  }

  @Test
  void promise_withAWellFormedHint_keepsIt_whateverElseIsOdd() {
    assertThat(promise("<promise tokens=\"3\"/>").predictedTokens()).isEqualTo(OptionalInt.of(3));
    assertThat(promise("<promise topic=sleep tokens=\"12\">").predictedTokens()).isEqualTo(OptionalInt.of(12));
    assertThat(promise("<promise topic=\"a\" tokens=\"007\"/>").predictedTokens()).isEqualTo(OptionalInt.of(7));
  }

  @Test
  void topicLongerThanTheLimit_isCut_characterPairsKeptWhole() {
    PastaEvent.Promise p = promise("<promise topic=\"" + "t".repeat(70) + "\" tokens=\"5\"/>");
    assertThat(p.topic()).isEqualTo("t".repeat(64));
    assertThat(p.predictedTokens()).isEqualTo(OptionalInt.of(5));
    assertThat(p.defects()).anyMatch(d -> d.contains("64"));
    PastaEvent.Promise pair = promise("<promise topic=\"" + "t".repeat(63) + "😀😀\"/>");
    assertThat(pair.topic()).isEqualTo("t".repeat(63));
  }

  @Test
  void topicCharactersAnOpenerCannotHold_areTakenOut() {
    assertThat(promise("<promise topic='say \"hi\"'/>").topic()).isEqualTo("say hi");
    assertThat(promise("<promise topic=\"a\tb\u0007c\"/>").topic()).isEqualTo("a b c");
  }

  @Test
  void aTagCutOffByAnotherAngleBracket_isABrokenTag_removedWithoutEffect() {
    List<String> cutOff = List.of("<promise cut off by '<' before its '>': removed, no effect");
    assertThat(parse("<promise topic=\"a<b\"/>")).containsExactly(
        new PastaEvent.BrokenTag("<promise topic=\"a", cutOff), new PastaEvent.Text("<b\"/>"));
    assertThat(parse("x<promise topic=\"a<sync/>y")).containsExactly(
        new PastaEvent.Text("x"), new PastaEvent.BrokenTag("<promise topic=\"a", cutOff),
        PastaEvent.Sync.canonical(), new PastaEvent.Text("y"));
    // the model abandoned the promise and wrote the next one: only the second forks
    Program program = Program.fromTranscript(
        "x<promise topic=\"a<promise topic=\"b\"/><async topic=\"b\">B</async><sync/>y", PastaLimits.defaults());
    assertThat(program.assembledText()).isEqualTo("xBy");
    assertThat(program.spans()).hasSize(2);
    assertThat(program.diagnostics()).extracting(Diagnostic::kind).containsExactly(Diagnostic.Kind.MALFORMED_TAG);
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"</promise>", "</sync>", "</promise >", "</sync\n>", "</promise x=\"1\">", "</sync/>"})
  void closerOfATagThatHasNone_isABrokenTag_removedWithoutEffect(String tag) {
    PastaEvent event = single(tag);
    assertThat(event).isInstanceOf(PastaEvent.BrokenTag.class);
    assertThat(event.defects()).isNotEmpty();
  }

  @Test
  void promiseWrittenAsAnElement_forksAndLeavesNoMarkup() {
    Program program = Program.fromTranscript(
        "a<promise topic=\"x\"><async topic=\"x\">C</async>b</promise><sync/>d", PastaLimits.defaults());
    assertThat(program.assembledText()).isEqualTo("aCbd");
    assertThat(program.spans()).hasSize(2);
    assertThat(program.diagnostics()).extracting(Diagnostic::kind)
        .containsExactly(Diagnostic.Kind.MALFORMED_TAG, Diagnostic.Kind.MALFORMED_TAG);
  }

  @Test
  void aClosingBracketInsideAValue_endsTheTag() {
    assertThat(parse("<promise topic=\"a > b\"/>")).satisfiesExactly(
        e -> assertThat(((PastaEvent.Promise) e).topic()).isEqualTo("a "),
        e -> assertThat(e).isEqualTo(new PastaEvent.Text(" b\"/>")));
  }

  @Test
  void aTagTheTextEndsIn_isStillThatTag() {
    assertThat(parse("x<promise topic=\"abc")).satisfiesExactly(
        e -> assertThat(e).isEqualTo(new PastaEvent.Text("x")),
        e -> assertThat(((PastaEvent.Promise) e).topic()).isEqualTo("abc"));
    PastaParser parser = new PastaParser();
    assertThat(parser.feed("x<promise topic=\"ab")).containsExactly(new PastaEvent.Text("x"));
    assertThat(parser.finish()).singleElement().isInstanceOf(PastaEvent.Promise.class);
    assertThat(parse("a<sync")).containsExactly(new PastaEvent.Text("a<sync"));
    assertThat(parse("a<sync ")).satisfiesExactly(
        e -> assertThat(e).isEqualTo(new PastaEvent.Text("a")),
        e -> assertThat(e).isInstanceOf(PastaEvent.Sync.class));
  }

  static Stream<Arguments> openersWithOddAttributes() {
    return Stream.of(
        arguments("<async topic=\"a\" tokens=\"1\">", "a"),
        arguments("<async topic=\"a\"/>", "a"),
        arguments("<async topic=a>", "a"),
        arguments("<async topic='a'>", "a"),
        arguments("<async topic = \"a\" >", "a"),
        arguments("<async\ntopic=\"a\">", "a"),
        arguments("<async topic=\"a\" topic=\"b\">", "a"),
        arguments("<async topic=\"a\"x=\"1\">", "a"),
        arguments("<async>", ""),
        arguments("<async tokens=\"3\">", ""));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("openersWithOddAttributes")
  void asyncOpener_withOddAttributes_isAnOpener(String tag, String topic) {
    PastaEvent event = single(tag);
    assertThat(event).isInstanceOf(PastaEvent.AsyncOpen.class);
    assertThat(((PastaEvent.AsyncOpen) event).topic()).isEqualTo(topic);
    assertThat(event.defects()).isNotEmpty();
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"</async x>", "</async\n>", "</async/>", "</async topic=\"a\">", "</async\r\n>"})
  void closer_withAttributesOrOddSpacing_isACloser(String tag) {
    PastaEvent event = single(tag);
    assertThat(event).isInstanceOf(PastaEvent.AsyncClose.class);
    assertThat(event.defects()).isNotEmpty();
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"<sync>", "<sync/ >", "<sync a=\"1\"/>", "<sync\n/>", "<sync topic=\"x\">", "<sync//>"})
  void sync_withAttributesOrOddSpacing_isASync(String tag) {
    PastaEvent event = single(tag);
    assertThat(event).isInstanceOf(PastaEvent.Sync.class);
    assertThat(event.defects()).isNotEmpty();
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {
      "<promise topic=\"a\"/>",
      "<promise  tokens=\"7\"\ttopic=\"y z\" />",
      "<promise topic=\"\" tokens=\"0\"/>",
      "<async topic=\"t\">",
      "<async\ttopic=\"t\" >",
      "</async>",
      "</async \t>",
      "<sync/>",
      "<sync\t/>",
  })
  void wellFormedTags_haveNoDefects(String tag) {
    assertThat(single(tag).defects()).isEmpty();
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {
      "<Promise topic=\"a\"/>",
      "<promisetopic=\"a\"/>",
      "<promises>",
      "</promises>",
      "</synced>",
      "<syncs/>",
      "< sync/>",
      "</ async>",
      "<b>bold</b>",
      "a < b > c",
      "<",
      "<sync",
      "x <promise",
      "<async",
  })
  void textThatIsNotOneOfTheTags_staysText(String s) {
    assertThat(parse(s)).containsExactly(new PastaEvent.Text(s));
  }

  @Test
  void malformedPromise_forksLikeAnyPromise_andIsReportedOnce() {
    String transcript = "Tips:<promise topic=\"sleep\" tokens=\"many\"/><async topic=\"sleep\"> Sleep.</async>"
        + "<promise topic=water tokens=\"-7\"><async topic=\"water\"> Drink.</async><sync a=\"b\"/> Done.";
    Program program = Program.fromTranscript(transcript, PastaLimits.defaults());
    assertThat(program.assembledText()).isEqualTo("Tips: Sleep. Drink. Done.");
    assertThat(program.spans()).hasSize(3);
    assertThat(program.span(SpanId.MAIN.child(1)).topic()).contains("sleep");
    assertThat(program.span(SpanId.MAIN.child(2)).topic()).contains("water");
    assertThat(program.span(SpanId.MAIN.child(2)).predictedTokens()).isEmpty();
    assertThat(program.diagnostics()).extracting(Diagnostic::kind).containsExactly(
        Diagnostic.Kind.MALFORMED_TAG, Diagnostic.Kind.MALFORMED_TAG, Diagnostic.Kind.MALFORMED_TAG);
    assertThat(program.diagnostics()).allMatch(d -> d.span().equals(SpanId.MAIN));
    assertThat(program.diagnostics().get(0).detail()).contains("many");
    assertThat(Program.fromTranscript(program.transcript(), PastaLimits.defaults()).assembledText())
        .isEqualTo(program.assembledText());
  }

  @Test
  void everyMalformedCase_assemblesWithoutMarkup() {
    String transcript = List.of(
        "a<promise topic=\"x\" tokens=\"1e3\"/>",
        "b<promise tokens=\"3\"/>",
        "c<promise topic=\"x\" topic=\"y\"/>",
        "d<promise topic='x' tokens='2'/>",
        "e<async topic=\"x\" tokens=\"1\">f</async x>",
        "g<sync>",
        "h<promise topic=\"z").stream().collect(Collectors.joining());
    Program program = Program.fromTranscript(transcript, PastaLimits.defaults());
    assertThat(program.assembledText()).isEqualTo("abcdefgh");
    assertThat(program.diagnostics()).extracting(Diagnostic::kind).contains(Diagnostic.Kind.MALFORMED_TAG);
  }

  /** The malformed rows of the table in docs/pasta-lang.md, section 5. */
  @ParameterizedTest(name = "{0}")
  @MethodSource("documentedCases")
  void documentedCases_assembleAndReportAsDocumented(String transcript, String assembled,
      List<Diagnostic.Kind> kinds) {
    Program program = Program.fromTranscript(transcript, PastaLimits.defaults());
    assertThat(program.assembledText()).isEqualTo(assembled);
    assertThat(program.diagnostics()).extracting(Diagnostic::kind).containsExactlyElementsOf(kinds);
  }

  static Stream<Arguments> documentedCases() {
    String longTopic = "t".repeat(65);
    return Stream.of(
        arguments("a <b>c</b> <Promise/>", "a <b>c</b> <Promise/>", List.of()),
        arguments("a<promise topic=x tokens=\"many\"/><async topic=\"x\">c</async><sync/>", "ac",
            List.of(Diagnostic.Kind.MALFORMED_TAG)),
        arguments("<promise topic=\"" + longTopic + "\"/><async topic=\"" + longTopic + "\">c</async>", "c",
            List.of(Diagnostic.Kind.MALFORMED_TAG, Diagnostic.Kind.MALFORMED_TAG)),
        arguments("a<promise topic=\"x<sync/>b", "ab",
            List.of(Diagnostic.Kind.MALFORMED_TAG, Diagnostic.Kind.STRAY_SYNC)),
        arguments("a</promise>b</sync>", "ab", List.of(Diagnostic.Kind.MALFORMED_TAG, Diagnostic.Kind.MALFORMED_TAG)),
        arguments("<promise " + "x".repeat(200), "<promise " + "x".repeat(200), List.of()));
  }
}
