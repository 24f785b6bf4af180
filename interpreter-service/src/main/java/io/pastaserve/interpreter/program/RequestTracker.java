package io.pastaserve.interpreter.program;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.pastaserve.common.lang.PastaLimits;
import io.pastaserve.common.messaging.GenerateCommand;
import io.pastaserve.common.messaging.RequestFinishedEvent;
import io.pastaserve.common.messaging.RequestOwner;
import io.pastaserve.common.messaging.SpanTiming;
import io.pastaserve.common.messaging.SpanTokensEvent;
import io.pastaserve.common.messaging.TokenItem;
import io.pastaserve.common.output.OutputCodec;
import io.pastaserve.common.output.OutputEntry;
import io.pastaserve.common.request.FinishReason;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.data.redis.core.StringRedisTemplate;

/**
 * The authority on each request's program: holds it to its {@link PastaLimits} (which its span job carries to the
 * worker), checks every span event against the request's {@link SpanTree} before recording it — an event naming a
 * span the tree cannot have ends the request with an error, keeping what was streamed — records the program in
 * Redis and streams its answer in final order to the request's output stream.
 * Span events are applied idempotently by token index, so a redelivered or replayed event never duplicates text;
 * tokens past a gap wait for it to fill ({@link RequestView}); the in-memory view of a request is rebuilt from Redis
 * when this instance did not see its start (another instance, or a restart), when Redis says it is out of date, and
 * after the partition its events arrive on moved. A view lives while its request runs here: it is removed when the
 * request ends and when its partition is revoked. Thread-safe: the calls for one request are serialized.
 */
public final class RequestTracker {

  private static final Logger log = LoggerFactory.getLogger(RequestTracker.class);

  /** The request hash's field that holds the limits the request is held to (JSON). */
  static final String LIMITS_FIELD = "limits";

  /** Starts the error message of a request ended because a span event broke its program. */
  static final String REFUSED = "the worker sent what this request's program cannot have: ";

  /** Written to a request's output stream when its state is no longer in Redis. */
  static final String STATE_LOST = "the request's state is gone from Redis (restarted without persistence, or "
      + "expired); it cannot go on";

  private final StringRedisTemplate redis;
  private final ObjectMapper json;
  private final Duration runningTtl;
  private final Duration finishedTtl;
  private final RequestViews views = new RequestViews();
  private final RecordedRequests recorded;
  private final GapChecks gaps;
  private final PastaLimits limits;

  /** A tracker that holds requests to the default limits ({@link PastaLimits#defaults}). */
  public RequestTracker(StringRedisTemplate redis, ObjectMapper json, Duration runningTtl, Duration finishedTtl) {
    this(redis, json, runningTtl, finishedTtl, PastaLimits.defaults());
  }

  /**
   * @param limits what each request's program is held to ({@code pasta.interpreter.max-*}): recorded with the request
   *     when it starts, and carried to the worker by its span job
   */
  public RequestTracker(StringRedisTemplate redis, ObjectMapper json, Duration runningTtl, Duration finishedTtl,
      PastaLimits limits) {
    this.redis = redis;
    this.json = json;
    this.runningTtl = runningTtl;
    this.finishedTtl = finishedTtl;
    this.limits = limits;
    this.recorded = new RecordedRequests(redis, json, limits);
    this.gaps = new GapChecks(views, recorded, this::fail);
  }

  /** The limits new requests are held to; their span jobs carry them to the workers. */
  public PastaLimits limits() {
    return limits;
  }

  /** Where a request stood when it was (re)delivered. */
  public enum Start {
    /** First delivery: recorded now. */
    NEW,
    /** Redelivered while it runs: dispatch it again (a worker resumes it from Redis, or ignores the copy). */
    RUNNING,
    /** Redelivered after it ended: nothing to do. */
    FINISHED
  }

  /**
   * Records a new request with the span job that runs it (what the request is dispatched with again if its worker
   * goes), or says where a redelivered one stands.
   */
  public Start start(GenerateCommand command, String job) {
    String id = command.requestId();
    Long created = new RequestScripts.Start(id, runningTtl, System.currentTimeMillis(), List.of("prompt",
        command.prompt(), "mode", command.mode().wire(), "stop", write(command.sampling().stop()), "spanEvents",
        command.spanEvents() ? "1" : "0", "emitted", "0", "job", job, RequestOwner.FIELD, "", LIMITS_FIELD,
        write(limits))).run(redis);
    if (created == null || created != 1) {
      return "finished".equals(recorded.status(id)) ? Start.FINISHED : Start.RUNNING;
    }
    return Start.NEW;
  }

  /** Applies a span's tokens, from an unknown partition; see {@link #apply(SpanTokensEvent, int)}. */
  public boolean apply(SpanTokensEvent event) {
    return apply(event, -1);
  }

  /**
   * Applies a span's tokens: records them, and streams whatever text is now in final order. Returns true when the
   * request has ended here — the answer reached one of its stop strings (finish reason {@code stop}), its state is
   * gone from Redis (an error), or the event names a span its program cannot have ({@link SpanTree#check}: an
   * error) — and the caller cancels its spans.
   *
   * @param partition the span-events partition the event came from, so the view goes when that partition moves
   */
  public boolean apply(SpanTokensEvent told, int partition) {
    String id = told.requestId();
    SpanTokensEvent event = withRawSpelledOut(told);
    synchronized (views.lock(id)) {
      for (int attempt = 1; ; attempt++) {
        RequestView view = views.get(id);
        if (view == null) {
          String status = recorded.status(id);
          if (status == null) {
            return lost(id, partition, "");
          }
          if ("finished".equals(status)) {
            return false;
          }
          view = recorded.rebuild(id, partition);
          views.put(view);
        }
        RequestView checked = view;
        Optional<SpanTree.Refusal> refused = view.tree.check(event)
            .or(() -> checked.readings.check(event, checked.preview(event), checked.tree));
        if (refused.isPresent() && attempt == 1) {
          // this view may be behind what another instance recorded: judge against Redis
          views.remove(id);
          continue;
        }
        if (refused.isPresent()) {
          return refuse(view, event, refused.get());
        }
        long result;
        try {
          result = record(view, event);
        } catch (RuntimeException e) {
          // the view may be ahead of Redis now: forget it, the retry rebuilds it from what Redis holds
          views.remove(id);
          throw e;
        }
        if (result == RequestScripts.STALE) {
          views.remove(id);
          if (attempt >= 5) {
            throw new IllegalStateException("request " + id + ": its state keeps changing under this instance");
          }
          log.info("request {}: recorded elsewhere meanwhile; rebuilding", id);
          continue;
        }
        if (result == RequestScripts.ENDED) {
          views.remove(id);
          return false;
        }
        if (result == RequestScripts.GONE) {
          views.remove(id);
          return lost(id, partition, "");
        }
        return afterRecord(view);
      }
    }
  }

  /**
   * The event with each token's raw text spelled out where it tells it ({@link TokenItem#raw} set even where it is the
   * token's text), so that what is recorded of a token says whether its raw text is known.
   */
  private static SpanTokensEvent withRawSpelledOut(SpanTokensEvent event) {
    if (!event.rawText()) {
      return event;
    }
    return event.withItems(event.items().stream().map(i -> i.withRaw(i.rawOr(true))).toList(), event.trailingText(),
        event.ended());
  }

  /**
   * What a recorded event leads to: a stop string ends the request, and so do tokens that can no longer be put in
   * place (with an error); a gap that filled releases a held finish.
   */
  private boolean afterRecord(RequestView view) {
    if (view.misplaced != null) {
      return fail(view.id, "tokens were lost: " + view.misplaced);
    }
    if (view.stop.matched()) {
      done(view, new OutputEntry.Done(FinishReason.STOP, "", 0, view.tokens(), 0, view.forks(), "", List.of()));
      return true;
    }
    if (view.gapOpen() || (view.heldFinish != null && view.missesTokensOf(view.heldFinish))) {
      if (view.gapSince == 0) {
        log.warn("request {}: {} is missing; what came after it waits", view.id, view.firstGap());
        view.gapSince = System.nanoTime();
        recorded.hold(view);
      }
      return false;
    }
    if (view.gapSince != 0) {
      recorded.clearGap(view.id);
    }
    view.gapSince = 0;
    view.redispatched = false;
    if (view.heldFinish != null) {
      log.info("request {}: the missing tokens came; it finishes now", view.id);
      finishNow(view, view.heldFinish);
    }
    return false;
  }

  /** Records what an event adds, in one script; returns the script's answer ({@link RequestScripts}). */
  private long record(RequestView view, SpanTokensEvent event) {
    String id = event.requestId();
    String span = event.spanId();
    int first = view.span(span).next;
    view.tree.accept(event);
    List<TokenItem> fresh = view.accept(event);
    if (!fresh.isEmpty()) {
      view.tree.decodedBy(span, event.worker());
    }
    List<String> tokens = new ArrayList<>();
    List<String> pieces = new ArrayList<>();
    for (TokenItem item : fresh) {
      tokens.add(Integer.toString(item.token()));
      pieces.add(write(item));
      view.record(span, item);
    }
    boolean ends = view.endsNow(span);
    String trailing = ends ? view.span(span).heldEnd : "";
    if (ends) {
      view.span(span).heldEnd = null;
      view.end(span, trailing);
      view.tree.ended(span);
    }
    if (fresh.isEmpty() && !ends) {
      return RequestScripts.DONE;
    }
    String text = view.takePending();
    String spanEntry = view.spanEvents ? OutputCodec.spanJson(new OutputEntry.SpanProgress(span,
        event.parentSpanId(), fresh.stream().map(i -> new OutputEntry.SpanProgress.Piece(i.text(), i.forks()))
        .toList(), trailing, ends, event.worker())) : "";
    Long result = new RequestScripts.Apply(id, span, event.parentSpanId(), runningTtl, ends, trailing, text,
        spanEntry, view.seq, first, fresh.isEmpty() ? "" : event.worker(), event.topic(), tokens, pieces).run(redis);
    if (result != null && result == RequestScripts.DONE) {
      view.seq++;
    }
    return result == null ? RequestScripts.STALE : result;
  }

  /**
   * The worker finished the request: the output stream gets its final entry; the state keys expire soon. A finish
   * that says tokens are missing here waits for them (bounded: {@link #checkGaps}).
   */
  public void finish(RequestFinishedEvent event) {
    finish(event, -1);
  }

  /**
   * The worker finished the request (see {@link #finish(RequestFinishedEvent)}).
   *
   * @param partition the span-events partition the finish came from, so the view goes when that partition moves
   */
  public void finish(RequestFinishedEvent event, int partition) {
    String id = event.requestId();
    synchronized (views.lock(id)) {
      String status = recorded.status(id);
      if (status == null) {
        lost(id, -1, event.finishReason() == FinishReason.ERROR ? event.error() : "");
        return;
      }
      RequestView view = views.get(id);
      if ("finished".equals(status)) {
        views.remove(id);
        return;
      }
      if (view == null) {
        view = recorded.rebuild(id, partition);
        views.put(view);
      }
      // an answer (stop or length) must be whole; a cancelled or failed request ends as it is
      boolean whole = event.finishReason().isAnswer();
      String lostBeforeEnd = whole ? view.missingBeforeAnEnd(event) : null;
      if (lostBeforeEnd != null) {
        fail(id, "tokens were lost: " + lostBeforeEnd);
        return;
      }
      if (whole && view.missesTokensOf(event)) {
        log.warn("request {}: the worker finished it ({}), but {} is missing here; waiting for it", id,
            event.finishReason(), view.firstGap());
        view.heldFinish = event;
        view.gapSince = view.gapSince == 0 ? System.nanoTime() : view.gapSince;
        recorded.hold(view);
        return;
      }
      finishNow(view, event);
    }
  }

  private void finishNow(RequestView view, RequestFinishedEvent event) {
    view.release(view.stop.finish());
    // each span names the worker whose tokens of it were recorded (after a failover, not the one that finished)
    List<SpanTiming> spans = event.spans().stream().map(t -> view.tree.worker(t.spanId()).isEmpty() ? t
        : t.withWorker(view.tree.worker(t.spanId()))).toList();
    done(view, new OutputEntry.Done(event.finishReason(), event.error(), event.promptTokens(),
        event.completionTokens(), event.criticalPathTokens(), event.forks(), event.annotated(), spans));
  }

  /**
   * Ends a request whose worker sent a span event its program cannot have: of the event, only the tokens before the
   * one that broke the program are recorded; what was streamed stays readable, and the final entry says what was
   * wrong ({@code error}). Returns true when this call ended it (the caller cancels its spans).
   */
  private boolean refuse(RequestView view, SpanTokensEvent event, SpanTree.Refusal refusal) {
    log.warn("request {}: span event refused: {}", view.id, refusal.why());
    if (refusal.itemsWithin() > 0) {
      // the tokens before the one that broke the program are recorded (a failure here ends the request all the same)
      SpanTokensEvent within = event.withItems(event.items().subList(0, refusal.itemsWithin()), "", false);
      try {
        if (record(view, within) != RequestScripts.DONE) {
          view = recorded.rebuild(view.id, view.partition);
        }
      } catch (RuntimeException e) {
        log.warn("request {}: the tokens before the refused one could not be recorded: {}", view.id, e.toString());
        view = recorded.rebuild(view.id, view.partition);
      }
    }
    return done(view, OutputEntry.Done.of(FinishReason.ERROR, REFUSED + refusal.why()));
  }

  /** Ends a request that was cancelled: the stream says so; the keys expire soon. */
  public void cancel(String id) {
    synchronized (views.lock(id)) {
      String status = recorded.status(id);
      if ("finished".equals(status)) {
        views.remove(id);
        return;
      }
      RequestView view = status == null ? new RequestView(id, -1, 0, List.of()) : views.get(id);
      done(view == null ? recorded.rebuild(id, -1) : view, OutputEntry.Done.of(FinishReason.CANCELLED, ""));
    }
  }

  /**
   * Ends a request with an error entry: nothing more of it is recorded or streamed. Returns true when this call ended
   * it (the caller cancels its spans).
   */
  public boolean fail(String id, String error) {
    synchronized (views.lock(id)) {
      String status = recorded.status(id);
      if ("finished".equals(status)) {
        views.remove(id);
        return false;
      }
      RequestView view = views.get(id);
      if (view == null) {
        view = status == null ? new RequestView(id, -1, 0, List.of()) : recorded.rebuild(id, -1);
      }
      log.warn("request {} ends with an error: {}", id, error);
      view.pending.setLength(0);
      return done(view, OutputEntry.Done.of(FinishReason.ERROR, error));
    }
  }

  /** The request's state is gone: its stream gets an error entry at once, so that its reader does not wait. */
  private boolean lost(String id, int partition, String error) {
    log.warn("request {}: its state is gone from Redis; it ends with an error", id);
    return done(new RequestView(id, partition, 0, List.of()), OutputEntry.Done.of(FinishReason.ERROR,
        error.isEmpty() ? STATE_LOST : error));
  }

  /** Writes the final entry (once) and forgets the view; true when this call wrote it. */
  private boolean done(RequestView view, OutputEntry.Done entry) {
    for (int attempt = 1; ; attempt++) {
      String text = view.takePending();
      Long result = new RequestScripts.Finish(view.id, text, view.seq, finishedTtl, entry).run(redis);
      if (result != null && result == RequestScripts.STALE && attempt < 5) {
        // recorded elsewhere meanwhile: end from what Redis holds
        view = recorded.rebuild(view.id, view.partition);
        continue;
      }
      recorded.deleteState(view.id);
      views.remove(view.id);
      return result != null && result != RequestScripts.ENDED;
    }
  }

  /**
   * Requests whose tokens have been missing for {@code bound}: each is sent to the workers again once (a worker
   * resumes it from the tokens recorded before the gap, so the missing ones come again), then, if the gap is still
   * open after another {@code bound}, ended with an error. An answer with text missing never ends {@code stop}.
   * Besides the views in memory, this looks at the open gaps Redis keeps of requests this instance holds no view of
   * (the view was dropped when its partition moved, or when applying failed): once the worker has finished, nothing
   * else would end them. What to do is decided under each request's lock; the recovery (Kafka sends) runs after it
   * is released. Returns how many requests were acted on.
   */
  public int checkGaps(Duration bound, Recovery recovery) {
    return gaps.check(bound, recovery);
  }

  /** What {@link #checkGaps} does to a request: send it to the workers again, or stop its spans. */
  public interface Recovery {

    /** Release the request from its worker and send its job again (the lease path). */
    void redispatch(String requestId);

    /** Cancel the spans of a request that has ended here. */
    void cancel(String requestId);
  }

  /**
   * Span events of these partitions now arrive elsewhere, or arrive here again after they were elsewhere: the views
   * of their requests may be out of date, and are dropped (the next event rebuilds one from Redis).
   */
  public void forgetPartitions(Collection<Integer> partitions) {
    int dropped = views.removePartitions(partitions);
    log.debug("views of partitions {} dropped: {}", partitions, dropped);
  }

  /** Requests this instance holds a view of now (each running request whose events came here). */
  public int views() {
    return views.size();
  }

  private String write(Object value) {
    try {
      return json.writeValueAsString(value);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }
}
