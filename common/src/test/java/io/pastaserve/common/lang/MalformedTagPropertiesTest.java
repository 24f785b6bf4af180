package io.pastaserve.common.lang;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Collectors;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * Properties over transcripts whose tags carry arbitrary attribute names, values, quoting and spacing: every
 * tag the model wrote is read as that tag, so no markup of it reaches the assembled text, and the model's
 * ordinary text arrives whole and in order.
 */
class MalformedTagPropertiesTest {

  private static final PastaLimits LIMITS = PastaLimits.defaults();
  private static final List<String> MARKUP = List.of("<promise", "<async", "</async", "<sync", "</promise", "</sync");

  @Property(tries = 500)
  void noTagMarkupReachesTheUser_andNoOrdinaryTextIsLost(@ForAll("oddTranscripts") Sample sample) {
    Program program = Program.fromTranscript(sample.transcript(), LIMITS);
    String assembled = program.assembledText();
    for (String markup : MARKUP) {
      assertThat(assembled).doesNotContain(markup);
    }
    int from = 0;
    for (String text : sample.texts()) {
      int at = assembled.indexOf(text, from);
      assertThat(at).as("%s in order in %s", text, assembled).isNotNegative();
      from = at + text.length();
    }
  }

  @Property(tries = 500)
  void everyPromiseWritten_isAPromise_whateverItsAttributes_unlessCutOff(@ForAll("oddTranscripts") Sample sample) {
    List<PastaEvent> events = PastaParser.parseAll(sample.transcript(), LIMITS);
    assertThat(events.stream().filter(PastaEvent.Promise.class::isInstance).count())
        .isEqualTo(sample.promises());
    assertThat(events.stream().map(PastaEvent::raw).collect(Collectors.joining())).isEqualTo(sample.transcript());
  }

  @Property(tries = 500)
  void streamingInRandomSplits_equalsParsingWhole(@ForAll("oddTranscripts") Sample sample, @ForAll long seed) {
    List<PastaEvent> whole = PastaParser.parseAll(sample.transcript(), LIMITS);
    List<PastaEvent> streamed = new ArrayList<>();
    PastaParser parser = new PastaParser(LIMITS);
    for (String piece : PastaLangPropertiesTest.randomSplit(sample.transcript(), new Random(seed))) {
      parser.feed(piece, streamed::add);
    }
    parser.finish(streamed::add);
    assertThat(PastaParserTest.mergeText(streamed)).isEqualTo(whole);
  }

  /**
   * A decoder acts on the token that completes a tag: the tag must be known then, not a character later. (A
   * broken tag, known when the '<' that cuts it off arrives, has no effect.)
   */
  @Property(tries = 500)
  void aTagIsEmitted_onTheCharacterThatEndsIt(@ForAll("oddTranscripts") Sample sample) {
    PastaParser parser = new PastaParser(LIMITS);
    String transcript = sample.transcript();
    int emitted = 0;
    for (int k = 0; k < transcript.length(); k++) {
      for (PastaEvent e : parser.feed(transcript.substring(k, k + 1))) {
        emitted += e.raw().length();
        if (!(e instanceof PastaEvent.Text) && !(e instanceof PastaEvent.BrokenTag)) {
          assertThat(emitted).as("end of %s", e.raw()).isEqualTo(k + 1);
        }
      }
    }
  }

  @Property(tries = 300)
  void theCanonicalTranscript_readsBackToTheSameAnswer(@ForAll("oddTranscripts") Sample sample) {
    Program program = Program.fromTranscript(sample.transcript(), LIMITS);
    assertThat(Program.fromTranscript(program.transcript(), LIMITS).assembledText())
        .isEqualTo(program.assembledText());
  }

  // ---- generators ----

  /**
   * A transcript, the ordinary text in it (in order) and how many promise tags it holds that no '<' cuts off.
   * Tags always end with a '>' except the last item's; text holds no angle bracket, and values hold no letter a
   * tag name starts with, so neither can spell a tag.
   */
  record Sample(String transcript, List<String> texts, long promises) {
  }

  @Provide
  Arbitrary<Sample> oddTranscripts() {
    Arbitrary<Item> text = Arbitraries.strings().ofMinLength(1).ofMaxLength(12)
        .map(s -> s.replace('<', '(').replace('>', ')'))
        .map(s -> new Item(s, true, false));
    Arbitrary<Item> tag = Combinators.combine(tagName(), attributes(), tagEnd())
        .as((name, attrs, end) -> new Item("<" + name + attrs + end, false, isPromise(name, attrs + end)));
    Arbitrary<Item> opener = Arbitraries.strings().withChars("xyz ").ofMaxLength(5)
        .map(t -> new Item("<async topic=\"" + t + "\">", false, false));
    Arbitrary<Item> closer = Arbitraries.of("</async>", "<sync/>").map(t -> new Item(t, false, false));
    Arbitrary<Item> unterminated = Combinators.combine(tagName(), attributes())
        .as((name, attrs) -> new Item("<" + name + (attrs.isEmpty() ? " " : attrs), false, isPromise(name, attrs)));
    Arbitrary<List<Item>> body = Arbitraries.frequencyOf(
        net.jqwik.api.Tuple.of(4, text), net.jqwik.api.Tuple.of(4, tag),
        net.jqwik.api.Tuple.of(2, opener), net.jqwik.api.Tuple.of(2, closer)).list().ofMaxSize(20);
    return Combinators.combine(body, unterminated.optional()).as((items, last) -> {
      List<Item> all = new ArrayList<>(items);
      last.ifPresent(all::add);
      StringBuilder transcript = new StringBuilder();
      List<String> texts = new ArrayList<>();
      long promises = 0;
      for (Item item : all) {
        transcript.append(item.chars());
        if (item.text()) {
          texts.add(item.chars());
        }
        if (item.promise()) {
          promises++;
        }
      }
      return new Sample(transcript.toString(), List.copyOf(texts), promises);
    });
  }

  private record Item(String chars, boolean text, boolean promise) {
  }

  /** A promise tag counts unless a '<' in its attributes comes before its first '>'. */
  private static boolean isPromise(String name, String rest) {
    int lt = rest.indexOf('<');
    int gt = rest.indexOf('>');
    return name.equals("promise") && (lt < 0 || gt >= 0 && gt < lt);
  }

  private static Arbitrary<String> tagName() {
    return Arbitraries.of("promise", "promise", "async", "/async", "sync", "/promise", "/sync");
  }

  private static Arbitrary<String> tagEnd() {
    return Arbitraries.of("/>", ">", " />", "/ >", "//>", "\n/>", " >");
  }

  private static Arbitrary<String> attributes() {
    Arbitrary<String> separator = Arbitraries.of(" ", "\t", "\n", "  ", "\r\n", "");
    Arbitrary<String> name = Arbitraries.of("topic", "tokens", "topic", "tokens", "TOPIC", "size", "x", "");
    Arbitrary<String> equals = Arbitraries.of("=", "=", "=", " = ", "", "==");
    Arbitrary<String> value = Arbitraries.oneOf(
        Arbitraries.strings().withChars("\"'<>=/ \t\n-+.e0123456789xz_é中\u0007").ofMaxLength(10),
        Arbitraries.integers().map(String::valueOf),
        Arbitraries.longs().map(String::valueOf),
        Arbitraries.of("many", "1e3", "", "-7", "99999999999999999999", "5.0", " 5"));
    Arbitrary<String> quoted = Combinators.combine(value, Arbitraries.of("\"%s\"", "\"%s\"", "'%s'", "%s", "\"%s",
        "\"%s'")).as((v, q) -> q.formatted(v));
    Arbitrary<String> attribute = Combinators.combine(separator, name, equals, quoted)
        .as((sep, n, eq, v) -> sep + n + eq + (eq.isEmpty() ? "" : v));
    // the first attribute is set off from the name, or the name would run on into it and not be a tag
    return attribute.list().ofMaxSize(3).map(list -> list.isEmpty() ? ""
        : " " + String.join("", list));
  }
}
