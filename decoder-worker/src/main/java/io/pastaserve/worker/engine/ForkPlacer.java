package io.pastaserve.worker.engine;

import io.pastaserve.common.lang.PastaLimits;
import io.pastaserve.worker.engine.SpanState.Status;
import io.pastaserve.worker.kv.KvCache;
import io.pastaserve.worker.kv.KvSnapshot;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Where the forks of this engine decode ({@link ForkPlacement}), and the forks it places elsewhere: the job it hands
 * to the {@link RemoteForks} sink (the request's known tokens and, with {@link ForkPrefix#KV}, the fork's prefix off
 * its parent's cache), and the tokens that come back, with how long the fork's parent waited for them.
 *
 * <p>A fork may decode elsewhere only when there is somewhere to send it, its promise was chosen here (a known one
 * forks where it forked before) and it cannot fork in turn (its tokens are all that comes back). Then {@code SPREAD}
 * sends it; {@code AUTO} sends it when the cache budget has no room for it here, or the decode batch has no row for
 * it (as many spans as {@link EngineConfig#maxBatch} rows already want one), and another engine may take it
 * ({@link RemoteForks#othersAvailable}). Owned by the scheduler thread.
 */
final class ForkPlacer {

  private static final Logger log = LoggerFactory.getLogger(ForkPlacer.class);

  private final EngineConfig config;
  private final KvCache cache;
  private final int eos;
  /** The running requests (the step loop's list): the spans that want a batch row. */
  private final List<RequestState> running;
  private ForkPlacement placement = ForkPlacement.LOCAL;
  private ForkPrefix prefix = ForkPrefix.TOKENS;
  private RemoteForks sink;

  ForkPlacer(EngineConfig config, KvCache cache, int eos, List<RequestState> running) {
    this.config = config;
    this.cache = cache;
    this.eos = eos;
    this.running = running;
  }

  void set(ForkPlacement newPlacement, RemoteForks newSink, ForkPrefix newPrefix) {
    this.placement = newPlacement;
    this.sink = newSink;
    this.prefix = newPrefix;
  }

  /** Whether {@code child}, a fork {@code parent} has just started here, decodes elsewhere. */
  boolean elsewhere(SpanState parent, SpanState child) {
    return placeable(parent) && (placement == ForkPlacement.SPREAD
        || (placement == ForkPlacement.AUTO && sink.othersAvailable() && batchFull(child)));
  }

  /** Whether a fork the cache budget has no room for decodes elsewhere rather than inline. */
  boolean elsewhereForRoom(SpanState parent) {
    return placement == ForkPlacement.AUTO && placeable(parent) && sink.othersAvailable();
  }

  private boolean placeable(SpanState parent) {
    PastaLimits limits = parent.request.request.limitsOr(config.limits());
    return sink != null && !parent.lastForced && parent.depth + 2 > limits.maxDepth();
  }

  /** Whether the spans that want a batch row, {@code child} aside, fill every row. */
  private boolean batchFull(SpanState child) {
    int wanting = 0;
    for (RequestState r : running) {
      for (SpanState s : r.spans) {
        if (s != child && s.runnable()) {
          wanting++;
        }
      }
    }
    return wanting >= config.maxBatch();
  }

  /**
   * Sends {@code child}, a fork just started, to another engine: it waits here, its opener pending, until the tokens
   * it decodes there come back ({@link #tokensBack}); then it feeds them as known tokens and ends, and is joined as
   * any fork is.
   */
  void place(SpanState child) {
    RequestState r = child.request;
    Optional<ForkPrefixKv> kv = prefix == ForkPrefix.KV && r.stops == null ? prefixKv(child) : Optional.empty();
    child.status = Status.AWAITING_TOKENS;
    child.forced = new int[0];
    child.endAfterForced = true;
    Map<String, List<Integer>> tokens = new HashMap<>();
    Map<String, List<Integer>> forkIndices = new HashMap<>();
    for (SpanState s : r.spans) {
      List<Integer> known = boxed(s.chosen.toArray());
      boolean ended = s.status == Status.ENDED || s.status == Status.DONE || s.status == Status.FINISHING;
      if (ended && !s.closedByModel && s != child) {
        known.add(eos); // it ended without a closer: there, too, its known tokens end it
      }
      tokens.put(s.id.path(), known);
      forkIndices.put(s.id.path(), boxed(s.forkedAt.toArray()));
    }
    RemoteFork job = new RemoteFork(r.request, child.id.path(), tokens, forkIndices, kv);
    RemoteForks to = sink;
    r.guarded(() -> to.fork(job));
  }

  /**
   * The fork's prefix off its parent's cache, as the fork here sees it: the parent's columns (one copy off the
   * cache's memory) and the tokens the fork feeds on top of them. Empty when the copy cannot be made: the token ids
   * still rebuild it.
   */
  private Optional<ForkPrefixKv> prefixKv(SpanState child) {
    try {
      KvSnapshot columns = cache.snapshot(child.parent.kv, child.request.id, child.id);
      int shared = child.kv.prefixLength() - child.kv.length();
      return Optional.of(new ForkPrefixKv(columns, boxed(child.pendingTokens.toArray()),
          boxed(child.pendingPositions.toArray()), shared));
    } catch (RuntimeException | OutOfMemoryError e) {
      log.warn("request {}: the prefix cache of fork {} cannot be copied ({}); its token ids rebuild it",
          child.request.id, child.id, e.toString());
      return Optional.empty();
    }
  }

  /**
   * The tokens fork {@code span} of {@code r}, placed elsewhere, decoded there: it feeds them from the next step on.
   * The sink hears how long the fork's parent had been waiting for them.
   */
  void tokensBack(RequestState r, String span, int[] tokens) {
    SpanState s = r.span(span);
    if (s == null || s.status != Status.AWAITING_TOKENS) {
      return;
    }
    s.forced = tokens.clone();
    s.status = Status.ACTIVE;
    SpanState p = s.parent;
    boolean waiting = p.status == Status.WAIT_FORKS || p.status == Status.WAIT_CHILD || p.status == Status.ENDED;
    long waited = waiting ? Math.max(0, System.nanoTime() - p.waitSince) : 0;
    try {
      sink.joinWaited(r.id, span, waited);
    } catch (RuntimeException e) {
      log.warn("request {}: the join wait of fork {} cannot be reported: {}", r.id, span, e.toString());
    }
  }

  /**
   * Fork {@code span} of {@code r}, placed elsewhere, decodes here after all: still waiting for its tokens, it becomes
   * the fork it would have been beside its parent (its opener pending, its draws its own), which the next step
   * decodes. Its tokens, should they come back later, are not awaited any more.
   */
  void takeBack(RequestState r, String span) {
    SpanState s = r.span(span);
    if (s == null || s.status != Status.AWAITING_TOKENS) {
      return;
    }
    s.forced = null;
    s.endAfterForced = false;
    s.status = Status.ACTIVE;
    log.debug("request {}: fork {} decodes here after all", r.id, span);
  }

  private static List<Integer> boxed(int[] values) {
    List<Integer> out = new ArrayList<>(values.length);
    for (int v : values) {
      out.add(v);
    }
    return out;
  }
}
