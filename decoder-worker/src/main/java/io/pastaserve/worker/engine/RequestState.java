package io.pastaserve.worker.engine;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A request in the engine: its spans, budget and status. Created by {@code Engine.submit}; from then on owned and
 * mutated by the scheduler thread alone (the admission queue, the span program and the step loop all run there).
 */
final class RequestState {

  private static final Logger log = LoggerFactory.getLogger(RequestState.class);

  final String id;
  final GenerationRequest request;
  final CompletableFuture<GenerationResult> future;
  final long submittedNanos;
  final int[] promptTokens;
  /** Forced tokens per span id path (replay, resume), or null. */
  final Map<String, int[]> forced;
  /** Where each span forked before, by span id path ({@link RecordedForks}), or null: the cache budget decides. */
  final Map<String, int[]> recordedForks;
  /** After its forced tokens a span chooses (resume) rather than ends (replay). */
  final boolean sampleAfterForced;
  /**
   * The span id path of the one span this engine decodes for another ({@link Forcing.Fork}), or null: then every span
   * but it and its forks stops where its known tokens end, and the request is done when it is.
   */
  final String focus;
  final SpanListener listener;
  /**
   * The cache the {@link #focus} span starts from instead of the known tokens ({@link KvForkStart}), or null: then
   * every span rebuilds from its known tokens.
   */
  final ForkPrefixKv prefixKv;
  /** Tokens this request may decode: its max tokens, or what a replay forces. */
  final long expectedTokens;
  final List<SpanState> spans = new ArrayList<>();
  SpanState main;
  long admittedStep = -1;
  /** When it was admitted (System.nanoTime), or -1. */
  long admittedNanos = -1;
  /** Time its spans spent waiting for forks at a sync (or, serial mode, for a child), in nanoseconds. */
  long joinWaitNanos;
  /** Cache tokens reserved ({@link KvReservation}): prompt and expected tokens, forks' prefixes, openers. */
  long kvReserved;
  /** Tokens the model may still choose ({@code max_tokens}); once spent, every span stops. */
  final TokenBudget budget;
  /** Looks for the stop strings in the answer in final order; null when the request has none. */
  final StopWatch stops;
  /** Waiting, running or finished (with why): set by the step loop as it admits, cancels and completes it. */
  RequestStatus status = RequestStatus.WAITING;
  /** A span was cut by a limit (span tokens, context, cache budget): the answer, once complete, is cut short. */
  boolean cutShort;
  /** What failed this request alone (its own work, or a forward pass only it fails), or null. */
  Throwable failure;

  RequestState(GenerationRequest request, CompletableFuture<GenerationResult> future, int[] promptTokens,
      Map<String, int[]> forced, Map<String, int[]> recordedForks, boolean sampleAfterForced, String focus,
      ForkPrefixKv prefixKv, SpanListener listener) {
    this.id = request.id();
    this.request = request;
    this.future = future;
    this.submittedNanos = System.nanoTime();
    this.promptTokens = promptTokens;
    this.forced = forced;
    this.recordedForks = recordedForks;
    this.sampleAfterForced = sampleAfterForced;
    this.focus = focus;
    this.prefixKv = prefixKv;
    this.listener = listener;
    long forcedTotal = forced == null ? 0 : forced.values().stream().mapToLong(t -> t.length + 2L).sum();
    this.expectedTokens = forced != null && !sampleAfterForced
        ? Math.min(request.sampling().maxTokens(), forcedTotal)
        : request.sampling().maxTokens();
    this.budget = new TokenBudget(request.sampling().maxTokens());
    this.kvReserved = promptTokens.length + expectedTokens;
    this.stops = request.sampling().stop().isEmpty() ? null : new StopWatch(request.sampling().stop());
  }

  /**
   * Runs this request's own work (choosing and interpreting its tokens, copying its cache, telling its listener):
   * what goes wrong there fails this request alone. Does nothing once it has failed.
   */
  void guarded(Runnable work) {
    if (failure != null) {
      return;
    }
    try {
      work.run();
    } catch (RuntimeException | Error e) {
      fail(e);
    }
  }

  /** Fails this request: its spans stop and drop their cache; it ends with ERROR. The other requests go on. */
  void fail(Throwable e) {
    if (failure == null) {
      log.warn("request {} failed: {}", id, e.toString(), e);
      failure = e;
    }
    stopSpans();
  }

  /** Ends this request with {@code finished}; its spans stop and drop their cache. */
  void end(RequestStatus finished) {
    status = finished;
    stopSpans();
  }

  private void stopSpans() {
    for (SpanState s : spans) {
      s.status = SpanState.Status.DONE;
    }
    releaseCache();
  }

  /**
   * Drops every span's cache. A cache that cannot be dropped is left to the collector (it is logged); the other
   * spans' caches are dropped all the same, and nothing is thrown: this is what every way out of the engine calls.
   */
  void releaseCache() {
    for (SpanState s : spans) {
      try {
        s.dropCache();
      } catch (RuntimeException | Error e) {
        log.warn("request {}: the cache of span {} cannot be dropped: {}", id, s.id, e.toString());
      }
    }
  }

  /** The span whose end ends this request: the {@link #focus} span once it exists, else the main span. */
  SpanState finalSpan() {
    return focus == null ? main : span(focus);
  }

  /** The span with id path {@code path}, or null when it has not started. */
  SpanState span(String path) {
    for (SpanState s : spans) {
      if (s.id.path().equals(path)) {
        return s;
      }
    }
    return null;
  }

  /** The answer holds a stop string, or the token budget is spent: no span chooses another token. */
  boolean halted() {
    return (stops != null && stops.matched()) || !budget.hasRoom();
  }
}
