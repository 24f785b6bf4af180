package io.pastaserve.interpreter.program;

import io.pastaserve.common.lang.OrderedAssembler;
import io.pastaserve.common.lang.PastaLimits;
import io.pastaserve.common.lang.SpanId;
import io.pastaserve.common.lang.StopMatcher;
import io.pastaserve.common.messaging.RequestFinishedEvent;
import io.pastaserve.common.messaging.SpanTiming;
import io.pastaserve.common.messaging.SpanTokensEvent;
import io.pastaserve.common.messaging.TokenItem;
import io.pastaserve.common.request.FinishReason;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * One request as an interpreter instance sees it: its span tree, how far each span is recorded, the answer assembled in
 * final order, and the tokens that arrived after a gap. Mutated only by {@link RequestTracker} under the request's
 * lock.
 *
 * <p>A span's tokens are recorded only in index order. Tokens past a gap (a lost event) are held here, with the
 * span's end and the worker's finish when they come after it, until the gap fills — from a worker that resumes the
 * request — or its bound passes; a gap never ends a span or a request early.
 */
final class RequestView {

  final String id;
  /** Span events of this request arrive on this partition of the span-events topic (-1: unknown). */
  final int partition;
  /** The request hash's {@code seq} this view matches: every recorded change increments it. */
  long seq;
  final Map<String, SpanProgress> spans = new HashMap<>();
  final OrderedAssembler assembler;
  /** The request's program: its span tree, and the limits every span event is checked against. */
  final SpanTree tree;
  /** Each span's raw text, read with the PASTA-LANG parser: what the span tree's forks are checked against. */
  final SpanReadings readings;
  /** Stop strings apply to the answer in final order, across spans. */
  final StopMatcher stop;
  final StringBuilder pending = new StringBuilder();
  private long skip;
  /** Whether the output stream also carries span entries (live views). */
  boolean spanEvents;
  /** The worker's finish, held while a span's tokens are missing. */
  RequestFinishedEvent heldFinish;
  /** When a gap was first seen (nanoTime), 0 while none is open. */
  long gapSince;
  /** Whether the request was sent to the workers again to fill the open gap. */
  boolean redispatched;

  /** How far one span is recorded, and what waits behind a gap. */
  static final class SpanProgress {
    int next;
    boolean ended;
    final TreeMap<Integer, TokenItem> held = new TreeMap<>();
    /** The span's end (its trailing text), held behind a gap; null when none. */
    String heldEnd;
    String parent = "";

    boolean gapOpen() {
      return !held.isEmpty() || heldEnd != null;
    }
  }

  RequestView(String id, int partition, long alreadyEmitted, List<String> stops) {
    this(id, partition, alreadyEmitted, stops, PastaLimits.defaults());
  }

  RequestView(String id, int partition, long alreadyEmitted, List<String> stops, PastaLimits limits) {
    this.tree = new SpanTree(limits);
    this.readings = new SpanReadings(limits);
    this.id = id;
    this.partition = partition;
    this.skip = alreadyEmitted;
    this.stop = new StopMatcher(stops);
    this.assembler = new OrderedAssembler(text -> release(stop.feed(text)));
  }

  /** Text in final order, past the stop matcher: what a rebuild already streamed is skipped. */
  void release(String text) {
    if (skip >= text.length()) {
      skip -= text.length();
    } else {
      pending.append(text, (int) skip, text.length());
      skip = 0;
    }
  }

  /** Text released since the last call. */
  String takePending() {
    String text = pending.toString();
    pending.setLength(0);
    return text;
  }

  SpanProgress span(String span) {
    return spans.computeIfAbsent(span, s -> new SpanProgress());
  }

  /** Records one token in order (the caller checked its index). */
  void record(String span, TokenItem item) {
    span(span).next++;
    readings.read(span, item);
    assembler.text(SpanId.of(span), item.text());
    for (String fork : item.forks()) {
      assembler.fork(SpanId.of(span), SpanId.of(fork));
    }
  }

  /** Ends a span: its trailing text, then nothing more. */
  void end(String span, String trailing) {
    span(span).ended = true;
    assembler.text(SpanId.of(span), trailing);
    assembler.end(SpanId.of(span));
  }

  /**
   * What an event adds in index order, with what it releases from behind a gap it fills; items past a gap are held.
   * Returns the items to record, in order; {@link #endsNow} says whether the span ends with them.
   */
  List<TokenItem> accept(SpanTokensEvent event) {
    SpanProgress p = span(event.spanId());
    p.parent = event.parentSpanId();
    for (TokenItem item : event.items()) {
      if (item.index() >= p.next && p.ended) {
        // the span ended here before this token: what followed the span may have streamed already
        misplaced = "span " + event.spanId() + " from token " + p.next + ", after the span had ended";
        return List.of();
      }
      if (item.index() >= p.next) {
        p.held.putIfAbsent(item.index(), item);
      }
    }
    if (event.ended() && !p.ended && p.heldEnd == null) {
      p.heldEnd = event.trailingText();
    }
    List<TokenItem> fresh = new ArrayList<>();
    int next = p.next;
    while (!p.held.isEmpty() && p.held.firstKey() <= next) {
      TokenItem item = p.held.pollFirstEntry().getValue();
      if (item.index() == next) {
        fresh.add(item);
        next++;
      }
    }
    return fresh;
  }

  /**
   * The tokens {@link #accept} would return for {@code event}, without taking anything in: what is recorded now, in
   * index order.
   */
  List<TokenItem> preview(SpanTokensEvent event) {
    SpanProgress p = spans.get(event.spanId());
    int next = p == null ? 0 : p.next;
    TreeMap<Integer, TokenItem> all = p == null ? new TreeMap<>() : new TreeMap<>(p.held);
    for (TokenItem item : event.items()) {
      if (item.index() >= next) {
        all.putIfAbsent(item.index(), item);
      }
    }
    List<TokenItem> fresh = new ArrayList<>();
    for (TokenItem item : all.values()) {
      if (item.index() != next) {
        break;
      }
      fresh.add(item);
      next++;
    }
    return fresh;
  }

  /**
   * Whether the span's end, if it came, applies now: nothing is held behind a gap (the end came with or after the
   * last token).
   */
  boolean endsNow(String span) {
    SpanProgress p = span(span);
    return p.heldEnd != null && !p.ended && p.held.isEmpty();
  }

  /** Whether any span waits for tokens that did not come. */
  boolean gapOpen() {
    return spans.values().stream().anyMatch(SpanProgress::gapOpen);
  }

  /**
   * Whether the worker's finish says tokens are missing here: a span it timed decoded more tokens than recorded, or
   * the request stopped with the answer's spans not all ended.
   */
  boolean missesTokensOf(RequestFinishedEvent finished) {
    if (gapOpen()) {
      return true;
    }
    for (SpanTiming timing : finished.spans()) {
      if (timing.tokens() > recorded(timing.spanId())) {
        return true;
      }
    }
    return finished.finishReason() == FinishReason.STOP && !assembler.complete();
  }

  /**
   * Tokens that cannot be put in place any more, or null: they belong to a span that has ended here, after text that
   * follows the span may have streamed — the answer can only end with an error.
   */
  String misplaced;

  /** Tokens the worker's finish counts for a span that has already ended here (see {@link #misplaced}), or null. */
  String missingBeforeAnEnd(RequestFinishedEvent finished) {
    return finished.spans().stream().filter(t -> t.tokens() > recorded(t.spanId()) && span(t.spanId()).ended)
        .findFirst().map(t -> "span " + t.spanId() + " from token " + recorded(t.spanId()) + ", before its end")
        .orElse(null);
  }

  /** What is missing, for the log and the error that ends a request whose gap never filled. */
  String firstGap() {
    return spans.entrySet().stream().filter(e -> e.getValue().gapOpen()).findFirst()
        .map(e -> "span " + e.getKey() + " from token " + e.getValue().next)
        .or(() -> heldFinish == null ? Optional.empty() : heldFinish.spans().stream()
            .filter(t -> t.tokens() > recorded(t.spanId())).findFirst()
            .map(t -> "span " + t.spanId() + " from token " + recorded(t.spanId())))
        .orElse(missing == null ? "the end of a span" : missing);
  }

  /** What was missing when the request was sent to the workers again. */
  String missing;

  /** Tokens of {@code span} recorded in order. */
  int recorded(String span) {
    SpanProgress p = spans.get(span);
    return p == null ? 0 : p.next;
  }

  long tokens() {
    return spans.values().stream().mapToLong(p -> p.next).sum();
  }

  int forks() {
    return Math.max(0, spans.size() - 1);
  }
}
