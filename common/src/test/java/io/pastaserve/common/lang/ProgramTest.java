package io.pastaserve.common.lang;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;

class ProgramTest {

  private static final TokenCounter CHARS = String::length;

  private static Program read(String transcript) {
    return Program.fromTranscript(transcript, PastaLimits.defaults());
  }

  private static List<Diagnostic.Kind> kinds(Program program) {
    return program.diagnostics().stream().map(Diagnostic::kind).toList();
  }

  @Test
  void issueExample_assemblesAndForksOnce() {
    Program p = read("Tips:<promise topic=\"sleep\" tokens=\"30\"/><async topic=\"sleep\"> Sleep 8h.</async>"
        + "<sync/> Done.");
    assertThat(p.assembledText()).isEqualTo("Tips: Sleep 8h. Done.");
    assertThat(p.wellFormed()).isTrue();
    assertThat(p.spans()).hasSize(2);
    Span fork = p.span(new SpanId("0.1"));
    assertThat(fork.parent()).contains(SpanId.MAIN);
    assertThat(fork.topic()).contains("sleep");
    assertThat(fork.predictedTokens()).isEqualTo(OptionalInt.of(30));
    assertThat(fork.forkOffset()).isEqualTo("Tips:<promise topic=\"sleep\" tokens=\"30\"/>".length());
    assertThat(p.assembledText(fork.id())).isEqualTo(" Sleep 8h.");
  }

  @Test
  void chunksTakeTheirPromisesPlaces_inPromiseOrder() {
    Program p = read("A<promise topic=\"1\"/><async topic=\"1\">one</async>B<promise topic=\"2\"/>"
        + "<async topic=\"2\">two</async>C<sync/>D");
    assertThat(p.assembledText()).isEqualTo("AoneBtwoCD");
    assertThat(p.main().forks()).containsExactly(new SpanId("0.1"), new SpanId("0.2"));
  }

  @Test
  void severalSyncs_eachJoinsWhatIsOutstanding() {
    Program p = read("<promise topic=\"a\"/><async topic=\"a\">x</async><sync/>"
        + "<promise topic=\"b\"/><async topic=\"b\">y</async><promise topic=\"c\"/><async topic=\"c\">z</async>"
        + "<sync/>end");
    assertThat(p.assembledText()).isEqualTo("xyzend");
    List<Integer> joined = p.main().pieces().stream()
        .filter(Piece.Join.class::isInstance).map(j -> ((Piece.Join) j).joined()).toList();
    assertThat(joined).containsExactly(1, 2);
    assertThat(p.stats(CHARS).joins()).isEqualTo(2);
  }

  @Test
  void planStats_countDecodedTokensAndTheCriticalPath() {
    // main: "ab"(2) promise(20) sync(7) "g"(1); fork: "cdef"(4) closer(8); the opener is fed, not decoded
    Program p = read("ab<promise topic=\"x\"/><async topic=\"x\">cdef</async><sync/>g");
    PlanStats stats = p.stats(CHARS);
    assertThat(stats.totalTokens()).isEqualTo(2 + 20 + 7 + 1 + 4 + 8);
    // the fork starts at 22 and ends at 34; the sync ends at 29 and waits until 34; then "g"
    assertThat(stats.criticalPathTokens()).isEqualTo(35);
    assertThat(stats.idealSpeedup()).isEqualTo(42.0 / 35.0);
    assertThat(stats.forks()).isEqualTo(1);
    assertThat(stats.spans()).isEqualTo(2);
  }

  @Test
  void planStats_endOfMainIsAnImplicitSync() {
    Program p = read("<promise topic=\"x\"/><async topic=\"x\">" + "c".repeat(100) + "</async>");
    PlanStats stats = p.stats(CHARS);
    assertThat(stats.criticalPathTokens()).isEqualTo(20 + 100 + 8);
    assertThat(stats.totalTokens()).isEqualTo(20 + 100 + 8);
  }

  @Test
  void planStats_parallelChunksOverlap() {
    String chunk = "w".repeat(40);
    Program p = read(("<promise topic=\"x\"/><async topic=\"x\">" + chunk + "</async>").repeat(3) + "<sync/>");
    PlanStats stats = p.stats(CHARS);
    assertThat(stats.totalTokens()).isEqualTo(3 * (20 + 48) + 7);
    // the last fork starts after three promises and runs 48 steps
    assertThat(stats.criticalPathTokens()).isEqualTo(60 + 48);
    assertThat(stats.idealSpeedup()).isGreaterThan(1.9);
  }

  @Test
  void noAnnotations_isOneSpanWithSpeedupOne() {
    Program p = read("Just a sentence.");
    assertThat(p.spans()).hasSize(1);
    assertThat(p.assembledText()).isEqualTo("Just a sentence.");
    assertThat(p.stats(ApproximateTokenCounter.INSTANCE).idealSpeedup()).isEqualTo(1.0);
    assertThat(read("").stats(CHARS).idealSpeedup()).isEqualTo(1.0);
  }

  @Test
  void promiseOverTheSpanLimit_runsInline() {
    PastaLimits twoSpans = new PastaLimits(2, 1, 64);
    String t = "<promise topic=\"a\"/><async topic=\"a\">x</async><promise topic=\"b\"/><async topic=\"b\">y</async>"
        + "<sync/>.";
    Program p = Program.fromTranscript(t, twoSpans);
    assertThat(p.assembledText()).isEqualTo("xy.");
    assertThat(p.spans()).hasSize(2);
    assertThat(kinds(p)).containsExactly(Diagnostic.Kind.SPAN_LIMIT);
    assertThat(p.transcript()).isEqualTo(t);
  }

  @Test
  void promiseOverTheNestingLimit_runsInline_andNestsWhenAllowed() {
    String t = "<promise topic=\"a\"/><async topic=\"a\">x<promise topic=\"b\"/><async topic=\"b\">y</async>z</async>!";
    Program flat = read(t);
    assertThat(flat.assembledText()).isEqualTo("xyz!");
    assertThat(flat.spans()).hasSize(2);
    assertThat(kinds(flat)).containsExactly(Diagnostic.Kind.DEPTH_LIMIT);

    Program nested = Program.fromTranscript(t, new PastaLimits(32, 2, 64));
    assertThat(nested.assembledText()).isEqualTo("xyz!");
    assertThat(nested.spans()).extracting(Span::id)
        .containsExactly(SpanId.MAIN, new SpanId("0.1"), new SpanId("0.1.1"));
    assertThat(nested.wellFormed()).isTrue();
    assertThat(Program.fromTranscript(t, new PastaLimits(32, 0, 64)).spans()).hasSize(1);
  }

  @Test
  void promiseWithoutItsAsyncBlock_hasNoChunk_andLosesNoText() {
    Program p = read("a<promise topic=\"x\"/> b <async topic=\"x\">c</async>d");
    assertThat(p.assembledText()).isEqualTo("a b cd");
    assertThat(kinds(p)).containsExactly(Diagnostic.Kind.UNFULFILLED_PROMISE, Diagnostic.Kind.ORPHAN_ASYNC);
    assertThat(p.spans()).hasSize(1);
  }

  @Test
  void promiseAtTheEnd_isUnfulfilled() {
    Program p = read("a<promise topic=\"x\"/>");
    assertThat(p.assembledText()).isEqualTo("a");
    assertThat(kinds(p)).containsExactly(Diagnostic.Kind.UNFULFILLED_PROMISE);
  }

  @Test
  void strayCloseAndStraySync_areDropped() {
    Program p = read("a</async>b<sync/>c");
    assertThat(p.assembledText()).isEqualTo("abc");
    assertThat(kinds(p)).containsExactly(Diagnostic.Kind.STRAY_CLOSE, Diagnostic.Kind.STRAY_SYNC);
  }

  @Test
  void unclosedAsync_closesAtTheEnd_keepingEveryCharacter() {
    Program p = read("a<promise topic=\"x\"/><async topic=\"x\">chunk. More<sync/> end");
    assertThat(p.assembledText()).isEqualTo("achunk. More end");
    assertThat(kinds(p)).containsExactly(Diagnostic.Kind.STRAY_SYNC, Diagnostic.Kind.UNCLOSED_ASYNC);
    Span fork = p.span(new SpanId("0.1"));
    assertThat(fork.closer()).isEmpty();
    assertThat(p.transcript()).endsWith("</async>");
    assertThat(read(p.transcript()).assembledText()).isEqualTo(p.assembledText());
  }

  @Test
  void topicMismatch_keepsThePromisesTopic() {
    Program p = read("<promise topic=\"x\"/><async topic=\"y\">c</async>");
    assertThat(p.span(new SpanId("0.1")).topic()).contains("x");
    assertThat(kinds(p)).containsExactly(Diagnostic.Kind.TOPIC_MISMATCH);
    assertThat(p.assembledText()).isEqualTo("c");
  }

  @Test
  void canonicalTranscript_ofAWellFormedProgram_isTheInput() {
    String t = "Intro:\n<promise topic=\"a\" tokens=\"5\"/><async topic=\"a\">1. A</async>\n"
        + "<promise topic=\"b\"/><async topic=\"b\">2. B</async>\n<sync/>Outro.";
    assertThat(read(t).transcript()).isEqualTo(t);
    assertThat(read(t).assembledText()).isEqualTo("Intro:\n1. A\n2. B\nOutro.");
  }

  @Test
  void spanIds_orderByPath() {
    assertThat(new SpanId("0.2").compareTo(new SpanId("0.10"))).isNegative();
    assertThat(new SpanId("0.1.3").depth()).isEqualTo(2);
    assertThat(SpanId.MAIN.child(4)).isEqualTo(new SpanId("0.4"));
  }
}
