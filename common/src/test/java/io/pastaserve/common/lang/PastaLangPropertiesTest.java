package io.pastaserve.common.lang;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;
import java.util.Random;
import java.util.stream.Collectors;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/** Properties of the parser and the program model over random and adversarial transcripts. */
class PastaLangPropertiesTest {

  private static final PastaLimits LIMITS = PastaLimits.defaults();

  @Property(tries = 400)
  void streamingAgreesWithWholeText_atAnySplit(@ForAll("transcripts") String transcript, @ForAll long seed) {
    List<PastaEvent> whole = PastaParser.parseAll(transcript, LIMITS);
    List<PastaEvent> streamed = new ArrayList<>();
    PastaParser parser = new PastaParser(LIMITS);
    for (String piece : randomSplit(transcript, new Random(seed))) {
      parser.feed(piece, streamed::add);
    }
    parser.finish(streamed::add);
    assertThat(PastaParserTest.mergeText(streamed)).isEqualTo(whole);
  }

  @Property(tries = 400)
  void noCharacterIsEverLost(@ForAll("transcripts") String transcript) {
    String rejoined = PastaParser.parseAll(transcript, LIMITS).stream()
        .map(PastaEvent::raw).collect(Collectors.joining());
    assertThat(rejoined).isEqualTo(transcript);
  }

  @Property(tries = 400)
  void assembledText_isExactlyTheTextEvents_noTagCharacters(@ForAll("transcripts") String transcript) {
    List<PastaEvent> events = PastaParser.parseAll(transcript, LIMITS);
    int textChars = events.stream().filter(PastaEvent.Text.class::isInstance)
        .mapToInt(e -> e.raw().length()).sum();
    Program program = Program.fromTranscript(transcript, LIMITS);
    assertThat(program.assembledText()).hasSize(textChars);
    // the canonical transcript reads back to the same answer
    assertThat(Program.fromTranscript(program.transcript(), LIMITS).assembledText())
        .isEqualTo(program.assembledText());
  }

  @Property(tries = 300)
  void wellFormedTagsNeverReachTheUser(@ForAll("cleanTranscripts") String transcript) {
    String assembled = Program.fromTranscript(transcript, LIMITS).assembledText();
    assertThat(PastaParser.parseAll(assembled, LIMITS)).allMatch(PastaEvent.Text.class::isInstance);
  }

  @Property(tries = 300)
  void generatedProgramsAreRecovered(@ForAll("programs") Generated generated, @ForAll long seed) {
    Program program = Program.fromTranscript(generated.transcript, LIMITS);
    assertThat(program.wellFormed()).isTrue();
    assertThat(program.assembledText()).isEqualTo(generated.assembled);
    assertThat(program.spans()).hasSize(1 + generated.chunks.size());
    for (int k = 0; k < generated.chunks.size(); k++) {
      assertThat(program.assembledText(SpanId.MAIN.child(k + 1))).isEqualTo(generated.chunks.get(k));
    }
    assertThat(program.transcript()).isEqualTo(generated.transcript);
    // the same program read from a stream split anywhere
    ProgramBuilder builder = new ProgramBuilder(LIMITS);
    PastaParser parser = new PastaParser(LIMITS);
    for (String piece : randomSplit(generated.transcript, new Random(seed))) {
      parser.feed(piece, builder::accept);
    }
    parser.finish(builder::accept);
    assertThat(builder.build().assembledText()).isEqualTo(generated.assembled);
    PlanStats stats = program.stats(ApproximateTokenCounter.INSTANCE);
    assertThat(stats.criticalPathTokens()).isLessThanOrEqualTo(stats.totalTokens());
    assertThat(stats.forks()).isEqualTo(generated.chunks.size());
  }

  // ---- generators ----

  @Provide
  Arbitrary<String> transcripts() {
    Arbitrary<String> fragment = Arbitraries.oneOf(
        plainText(),
        Arbitraries.strings().ofMaxLength(12),
        Arbitraries.strings().withChars("<>/\"= \tasyncpromisetopictokens0123456789").ofMaxLength(24),
        wellFormedTag(),
        wellFormedTag().map(t -> t.substring(0, t.length() / 2)),
        wellFormedTag().map(t -> t.substring(1)),
        wellFormedTag().map(t -> t.replace('"', '\'')));
    return fragment.list().ofMaxSize(30).map(l -> String.join("", l));
  }

  @Provide
  Arbitrary<String> cleanTranscripts() {
    return Arbitraries.oneOf(plainText(), wellFormedTag()).list().ofMaxSize(30).map(l -> String.join("", l));
  }

  @Provide
  Arbitrary<Generated> programs() {
    Arbitrary<String> text = plainText();
    Arbitrary<List<String>> chunks = text.list().ofMaxSize(8);
    return Combinators.combine(text, chunks, text, Arbitraries.integers().between(0, 3), Arbitraries.longs())
        .as(Generated::of);
  }

  private static Arbitrary<String> plainText() {
    return Arbitraries.strings().withChars("abc XYZ.,;:!?\n\t\"'=/>é€中").ofMaxLength(20);
  }

  private static Arbitrary<String> wellFormedTag() {
    Arbitrary<String> topic = Arbitraries.strings().withChars("abc xyz-_'/=").ofMaxLength(10);
    return Arbitraries.oneOf(
        topic.map(t -> "<promise topic=\"" + t + "\"/>"),
        Combinators.combine(topic, Arbitraries.integers().between(0, 999))
            .as((t, n) -> "<promise topic=\"" + t + "\" tokens=\"" + n + "\"/>"),
        topic.map(t -> "<async topic=\"" + t + "\">"),
        Arbitraries.of("</async>", "<sync/>", "<sync />", "</async >"));
  }

  /** A random well-formed depth-1 program and what it should assemble to. */
  record Generated(String transcript, String assembled, List<String> chunks) {

    static Generated of(String intro, List<String> chunks, String outro, int syncs, long seed) {
      Random random = new Random(seed);
      StringBuilder flat = new StringBuilder(intro);
      StringBuilder assembled = new StringBuilder(intro);
      for (int k = 0; k < chunks.size(); k++) {
        String topic = "topic " + k;
        OptionalInt tokens = random.nextBoolean() ? OptionalInt.of(random.nextInt(200)) : OptionalInt.empty();
        flat.append(PastaEvent.Promise.of(topic, tokens).raw())
            .append(PastaEvent.AsyncOpen.of(topic).raw())
            .append(chunks.get(k))
            .append(PastaEvent.AsyncClose.CANONICAL);
        assembled.append(chunks.get(k));
        if (random.nextInt(4) == 0) {
          flat.append("\n");
          assembled.append("\n");
        }
        if (k < syncs) {
          flat.append(PastaEvent.Sync.CANONICAL);
        }
      }
      if (!chunks.isEmpty() && syncs == 0) {
        flat.append(PastaEvent.Sync.CANONICAL);
      }
      flat.append(outro);
      assembled.append(outro);
      return new Generated(flat.toString(), assembled.toString(), List.copyOf(chunks));
    }
  }

  static List<String> randomSplit(String s, Random random) {
    List<String> pieces = new ArrayList<>();
    int i = 0;
    while (i < s.length()) {
      int len = 1 + random.nextInt(Math.min(8, s.length() - i));
      pieces.add(s.substring(i, i + len));
      i += len;
    }
    return pieces;
  }
}
