package io.pastaserve.common.lang;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Objects;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * A PASTA-LANG program: the tree of spans, what went wrong while reading it, and the views derived from it
 * (assembled text, canonical flat transcript, plan statistics). Immutable.
 */
public final class Program {

  private final List<Span> spans;
  private final Map<SpanId, Span> byId;
  private final List<Diagnostic> diagnostics;

  Program(List<Span> spans, List<Diagnostic> diagnostics) {
    this.spans = List.copyOf(spans);
    this.byId = this.spans.stream().collect(Collectors.toUnmodifiableMap(Span::id, Function.identity()));
    this.diagnostics = List.copyOf(diagnostics);
    if (!byId.containsKey(SpanId.MAIN)) {
      throw new IllegalArgumentException("a program needs a main span");
    }
  }

  /** Reads a flat transcript (the serial view) into a program. Never throws on content. */
  public static Program fromTranscript(CharSequence transcript, PastaLimits limits) {
    ProgramBuilder builder = new ProgramBuilder(limits);
    PastaParser parser = new PastaParser(limits);
    parser.feed(transcript, builder::accept);
    parser.finish(builder::accept);
    return builder.build();
  }

  /** Spans in the order they were started: the main span first. */
  public List<Span> spans() {
    return spans;
  }

  public Span main() {
    return byId.get(SpanId.MAIN);
  }

  public Span span(SpanId id) {
    Span span = byId.get(Objects.requireNonNull(id, "id"));
    if (span == null) {
      throw new NoSuchElementException("no span " + id);
    }
    return span;
  }

  public List<Diagnostic> diagnostics() {
    return diagnostics;
  }

  /** True when nothing had to be degraded: every promise has its chunk and every fork closed. */
  public boolean wellFormed() {
    return diagnostics.isEmpty();
  }

  /** What the user sees: the main span's text with each promise replaced by its chunk, every tag removed. */
  public String assembledText() {
    return assembledText(SpanId.MAIN);
  }

  /** The assembled text of one span's subtree: for a fork, its chunk as it appears in the answer. */
  public String assembledText(SpanId id) {
    StringBuilder sb = new StringBuilder();
    appendAssembled(span(id), sb);
    return sb.toString();
  }

  private void appendAssembled(Span span, StringBuilder sb) {
    for (Piece piece : span.pieces()) {
      if (piece instanceof Piece.Text text) {
        sb.append(text.text());
      } else if (piece instanceof Piece.Fork fork) {
        appendAssembled(span(fork.child()), sb);
      }
    }
  }

  /**
   * The canonical flat transcript: each forked promise immediately followed by its opener, its content and a
   * closer (added where the fork ended without one), inline chunks likewise closed.
   */
  public String transcript() {
    StringBuilder sb = new StringBuilder();
    appendTranscript(main(), sb);
    return sb.toString();
  }

  private void appendTranscript(Span span, StringBuilder sb) {
    for (Piece piece : span.pieces()) {
      sb.append(piece.raw());
      if (piece instanceof Piece.Fork fork) {
        Span child = span(fork.child());
        sb.append(child.opener().orElseThrow().raw());
        appendTranscript(child, sb);
        sb.append(child.closer().map(PastaEvent.AsyncClose::raw).orElse(PastaEvent.AsyncClose.CANONICAL));
      }
    }
  }

  /**
   * Plan statistics under {@code counter}. A span's decoded tokens are those of its own output (its text, the
   * tags it wrote, a fork's closer); an opener the interpreter feeds a fork is not decoded. The critical path
   * assumes one token per step per span, forks starting right after their promise and a sync (or the end of
   * a span) waiting for the span's outstanding forks.
   */
  public PlanStats stats(TokenCounter counter) {
    long total = 0;
    for (Span span : spans) {
      total += decodedTokens(span, counter);
    }
    long critical = finishTime(main(), 0, counter);
    int forks = spans.size() - 1;
    int joins = (int) spans.stream()
        .flatMap(s -> s.pieces().stream())
        .filter(p -> p instanceof Piece.Join join && join.joined() > 0)
        .count();
    double ideal = critical == 0 ? 1.0 : (double) total / critical;
    return new PlanStats(spans.size(), forks, joins, total, critical, ideal);
  }

  /** Tokens a span decodes itself. */
  public long decodedTokens(SpanId id, TokenCounter counter) {
    return decodedTokens(span(id), counter);
  }

  private static long decodedTokens(Span span, TokenCounter counter) {
    long n = 0;
    for (Piece piece : span.pieces()) {
      if (!(piece instanceof Piece.Inert inert) || inert.decoded()) {
        n += counter.count(piece.raw());
      }
    }
    return n + span.closer().map(c -> (long) counter.count(c.raw())).orElse(0L);
  }

  private long finishTime(Span span, long start, TokenCounter counter) {
    long t = start;
    List<Long> outstanding = new ArrayList<>();
    for (Piece piece : span.pieces()) {
      if (piece instanceof Piece.Inert inert && !inert.decoded()) {
        continue;
      }
      t += counter.count(piece.raw());
      if (piece instanceof Piece.Fork fork) {
        outstanding.add(finishTime(span(fork.child()), t, counter));
      } else if (piece instanceof Piece.Join) {
        t = Math.max(t, outstanding.stream().mapToLong(Long::longValue).max().orElse(t));
        outstanding.clear();
      }
    }
    if (span.closer().isPresent()) {
      t += counter.count(span.closer().get().raw());
    }
    return Math.max(t, outstanding.stream().mapToLong(Long::longValue).max().orElse(t));
  }
}
