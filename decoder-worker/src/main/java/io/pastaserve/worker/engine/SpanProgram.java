package io.pastaserve.worker.engine;

import io.pastaserve.common.lang.PastaEvent;
import io.pastaserve.common.lang.PastaLimits;
import io.pastaserve.common.lang.PastaParser;
import io.pastaserve.common.lang.SpanId;
import io.pastaserve.common.request.FinishReason;
import io.pastaserve.common.request.Mode;
import io.pastaserve.worker.engine.SpanState.Status;
import io.pastaserve.worker.kv.KvCache;
import io.pastaserve.worker.kv.KvSeq;
import io.pastaserve.worker.model.ModelConfig;
import io.pastaserve.worker.model.Tokenizer;
import io.pastaserve.worker.sampling.Sampler;
import io.pastaserve.worker.sampling.SpanDraws;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * The span program: what each span does with the tokens it chooses. It chooses a span's next token from its logits
 * (sampled, or forced in a replay or resume), feeds it to the span's PASTA-LANG parser and acts on the events: a
 * promise forks a span (or, over a limit, opens the chunk inline), a sync parks the span until its forks are done and
 * then joins their caches, a closer or end of sequence ends a span, a budget or the context cuts it. Positions and
 * visibility follow {@code docs/pasta-lang.md}.
 *
 * <p>The step loop ({@link Engine}) calls {@link #start} when a request is admitted and {@link #afterFeed} when a
 * span's pending input has been fed. This class mutates the spans' program state and pending input, the requests'
 * token budgets and cache reservations; it asks the {@link KvCache} to fork, park and join their caches. It runs on
 * the scheduler thread only, except the settings tests change ({@link #observe}, {@link #fastForward(boolean)}).
 */
final class SpanProgram {

  private final ModelConfig model;
  private final Tokenizer tokenizer;
  private final EngineConfig config;
  /** The limits of a request whose job carries none. */
  private final PastaLimits defaultLimits;
  private final int vocab;
  private final int[] closerTokens;
  private final Sampler sampler = new Sampler();
  private final KvCache cache;
  private final KvReservation kv;
  /** The running requests (the step loop's list): what a reservation must fit beside. */
  private final List<RequestState> running;
  private volatile StepObserver observer;
  /** Resumed requests feed their known tokens in prefill chunks (off: one per step, as first decoded). */
  private volatile boolean fastForward = true;
  /** Tokens chosen since the engine started. */
  final AtomicLong tokensDecoded = new AtomicLong();
  /** Where forks decode, and where those placed elsewhere go ({@link Engine#placeForks}); local by default. */
  private final ForkPlacer placer;
  /** Forks started and joins done since the step loop last reset them (once a step). */
  int forks;
  int joins;

  SpanProgram(ModelConfig model, Tokenizer tokenizer, EngineConfig config, KvCache cache, KvReservation kv,
      List<RequestState> running) {
    this.model = model;
    this.tokenizer = tokenizer;
    this.config = config;
    this.defaultLimits = config.limits();
    this.vocab = model.vocabSize();
    this.closerTokens = tokenizer.encode(PastaEvent.AsyncClose.CANONICAL);
    this.cache = cache;
    this.kv = kv;
    this.running = running;
    this.placer = new ForkPlacer(config, cache, model.eosTokenId(), running);
  }

  void observe(StepObserver newObserver) {
    this.observer = newObserver;
  }

  void fastForward(boolean on) {
    this.fastForward = on;
  }

  void placeForks(ForkPlacement newPlacement, RemoteForks sink, ForkPrefix prefix) {
    placer.set(newPlacement, sink, prefix);
  }

  /** Admits {@code r}: its main span, with the prompt to feed (or, from a prefix cache, the fork it decodes). */
  void start(RequestState r) {
    if (r.prefixKv != null) {
      startFromPrefixKv(r);
      return;
    }
    SpanState main = newSpan(r, SpanId.MAIN, null, null, cache.open());
    for (int i = 0; i < r.promptTokens.length; i++) {
      main.feed(r.promptTokens[i], i);
    }
    main.nextPosition = r.promptTokens.length;
    r.main = main;
  }

  /**
   * Admits a fork decoded for another engine that starts from its parent's cache ({@link KvForkStart}): the fork
   * restores the columns and feeds the tokens on top of them, as a fork beside its parent would; the main span only
   * stands for the rest of the request, stopped. The other spans' known tokens count against the budget as the
   * rebuild from them would count them.
   */
  private void startFromPrefixKv(RequestState r) {
    ForkPrefixKv prefix = r.prefixKv;
    SpanState main = newSpan(r, SpanId.MAIN, null, null, cache.open());
    main.status = Status.STOPPED_KNOWN;
    r.main = main;
    r.budget.spend(KvForkStart.knownElsewhere(r.forced, r.focus));
    SpanId id = SpanId.of(r.focus);
    PastaEvent.AsyncOpen opener = openerOf(r, prefix);
    SpanState fork = newSpan(r, id, main, opener, cache.restore(prefix.kv(), prefix.shared(), r.id, id));
    int next = 0;
    for (int i = 0; i < prefix.tokens().size(); i++) {
      fork.feed(prefix.tokens().get(i), prefix.positions().get(i));
      next = Math.max(next, prefix.positions().get(i) + 1);
    }
    fork.prefixReserved = fork.kv.prefixLength();
    fork.nextPosition = next;
    // told as the rebuild from token ids tells it when the parent's promise forks the span
    SpanId parent = id.parent().orElse(SpanId.MAIN);
    notify(main, l -> l.onFork(parent, id, opener.topic()));
  }

  /** The opener a fork started from its parent's cache feeds (its tokens after the parent's), read back. */
  private PastaEvent.AsyncOpen openerOf(RequestState r, ForkPrefixKv prefix) {
    PastaParser parser = new PastaParser(limits(r));
    var text = tokenizer.newDetokenizer();
    for (int i = prefix.shared(); i < prefix.tokens().size(); i++) {
      for (PastaEvent e : parser.feed(text.next(prefix.tokens().get(i)))) {
        if (e instanceof PastaEvent.AsyncOpen open) {
          return open;
        }
      }
    }
    throw new IllegalArgumentException("the fork's tokens after its parent's are not an opener");
  }

  private SpanState newSpan(RequestState r, SpanId id, SpanState parent, PastaEvent.AsyncOpen opener, KvSeq kv) {
    int[] forced = r.forced == null ? null : r.forced.getOrDefault(id.path(), new int[0]);
    SpanState s = new SpanState(r, id, parent, opener, new PastaParser(limits(r)), tokenizer.newDetokenizer(),
        SpanDraws.of(r.request.sampling().seed(), id), forced, cache, kv);
    if (r.recordedForks != null) {
      s.recordedForks = new RecordedForks(r.recordedForks.getOrDefault(id.path(), new int[0]));
    }
    r.spans.add(s);
    return s;
  }

  /** A span's pending input has all been fed; {@code offset} locates the logits of its last token. */
  void afterFeed(SpanState s, FloatBuffer logits, int offset) {
    if (s.status == Status.FINISHING) {
      spanEnded(s);
      return;
    }
    if (s.request.halted()) {
      // another span of the request spent the last token, or completed a stop string, earlier in this step
      return;
    }
    StepObserver o = observer;
    if (o != null) {
      float[] copy = new float[vocab];
      logits.get(offset, copy);
      o.logits(s.request.id, s.id, s.decoded, copy);
    }
    int token;
    boolean knownSpent = s.forced != null && s.forcedNext >= s.forced.length;
    if (knownSpent && s.request.focus != null && !inFocus(s)) {
      // decoding for another engine: this span's part was decoded there; it only had to rebuild the prefix
      s.status = Status.STOPPED_KNOWN;
      cache.leaveBatch(s.kv);
      return;
    }
    s.lastForced = s.forced != null && (!knownSpent || !s.request.sampleAfterForced || s.endAfterForced);
    if (!knownSpent && s.forced != null) {
      token = s.forced[s.forcedNext++];
    } else if (s.forced != null && (!s.request.sampleAfterForced || s.endAfterForced)) {
      token = model.eosTokenId();
    } else {
      token = sampler.sample(logits, offset, vocab, s.request.request.sampling(), s.draws.uniform(s.decoded));
    }
    s.decoded++;
    s.request.budget.spend();
    tokensDecoded.incrementAndGet();
    if (s.syncArmed) {
      // the first token after a sync: chosen from the sync's logits, fed once the forks are joined
      s.syncArmed = false;
      s.status = Status.WAIT_FORKS;
      s.waitSince = System.nanoTime();
      s.deferredToken = token;
      cache.leaveBatch(s.kv);
      tryJoin(s);
      return;
    }
    interpret(s, token);
    fastForward(s);
  }

  /**
   * Known tokens of a resumed request need no logits in between: they are interpreted at once and fed together as one
   * prefill chunk, up to the next point where the program needs the model (a fork, a sync, an end).
   */
  private void fastForward(SpanState s) {
    int limit = config.prefillTokensPerStep();
    while (fastForward && s.request.sampleAfterForced && s.forcedNext < s.forced.length && s.status == Status.ACTIVE
        && !s.syncArmed && s.pendingTokens.size() < limit && !s.request.halted()) {
      int forksBefore = s.children.size();
      int token = s.forced[s.forcedNext++];
      s.lastForced = true;
      s.decoded++;
      s.request.budget.spend();
      interpret(s, token);
      if (s.children.size() != forksBefore || token == model.eosTokenId()) {
        return;
      }
    }
  }

  /** Acts on a chosen token: the text it completes, the tags in it, its budget. */
  private void interpret(SpanState s, int token) {
    RequestState r = s.request;
    if (token == model.eosTokenId()) {
      endDecoding(s, FinishReason.STOP);
      return;
    }
    int index = s.reported++;
    s.chosen.add(token);
    notify(s, l -> l.onToken(s.id, index, token));
    String piece = s.detokenizer.next(token);
    notify(s, l -> l.onRawText(s.id, piece));
    List<PastaEvent> events = s.parser.feed(piece);
    int position = s.nextPosition;
    s.feed(token, position);
    s.nextPosition = position + 1;
    boolean closeFork = false;
    boolean sync = false;
    boolean cacheFull = false;
    for (PastaEvent e : events) {
      s.transcript.add(e.raw());
      if (e instanceof PastaEvent.Text text) {
        notify(s, l -> l.onText(s.id, text.text()));
      } else if (e instanceof PastaEvent.Promise promise) {
        PastaEvent.AsyncOpen opener = PastaEvent.AsyncOpen.of(promise.topic());
        int[] openerTokens = tokenizer.encode(opener.raw());
        long prefix = s.kv.length() + s.pendingTokens.size() + openerTokens.length + closerTokens.length;
        if (forks(s, index, prefix)) {
          s.forkedAt.add(index);
          SpanState child = fork(s, promise, position);
          if (placer.elsewhere(s, child)) {
            placer.place(child);
          }
        } else if (placer.elsewhereForRoom(s) && canFork(s)) {
          // no room here for the fork's decoding: it decodes elsewhere, and its tokens come back for the join
          kv.reserve(s.request, prefix);
          s.forkedAt.add(index);
          placer.place(fork(s, promise, position));
        } else if (reserve(s, openerTokens.length)) {
          // over a limit (spans, nesting, cache): the span writes the chunk itself, inline
          s.transcript.add(opener.raw());
          s.inlineDepth++;
          for (int t : openerTokens) {
            s.feed(t, s.nextPosition++);
          }
        } else {
          cacheFull = true;
        }
      } else if (e instanceof PastaEvent.AsyncOpen) {
        s.inlineDepth++;
      } else if (e instanceof PastaEvent.AsyncClose) {
        if (s.inlineDepth > 0) {
          s.inlineDepth--;
        } else if (s.parent != null) {
          closeFork = true;
          s.closedByModel = true;
        }
      } else if (e instanceof PastaEvent.Sync && !s.outstanding.isEmpty()) {
        sync = true;
      }
    }
    if (closeFork) {
      s.status = Status.FINISHING;
      return;
    }
    if (cacheFull) {
      // not even an inline opener fits in the cache budget: the span ends here
      endDecoding(s, FinishReason.LENGTH);
      return;
    }
    if (r.halted()) {
      return;
    }
    boolean spanBudget = s.decoded >= config.maxSpanTokens() || s.nextPosition >= model.maxPositions() - 1;
    if (spanBudget) {
      endDecoding(s, FinishReason.LENGTH);
      return;
    }
    if (sync) {
      s.marks.add(new int[] {s.decoded, 1});
      s.syncArmed = true;
    }
    if (r.request.mode() == Mode.SERIAL && !s.outstanding.isEmpty() && s.outstanding.stream()
        .anyMatch(f -> f.status != Status.DONE)) {
      s.status = Status.WAIT_CHILD;
      s.waitSince = System.nanoTime();
    }
  }

  /**
   * Whether the promise that span {@code s}'s token {@code index} completes forks, with {@code prefixTokens}
   * reserved for the fork if so. A known token of a resume that recorded where it forked forks exactly as it did
   * then (the budget decided that once, and the tokens and span ids after it depend on it); any other forks when the
   * limits and the cache budget let it.
   */
  private boolean forks(SpanState s, int index, long prefixTokens) {
    if (s.lastForced && s.recordedForks != null) {
      if (!s.recordedForks.forked(index)) {
        return false;
      }
      kv.reserve(s.request, prefixTokens);
      return true;
    }
    return canFork(s) && reserve(s, prefixTokens);
  }

  private boolean canFork(SpanState s) {
    PastaLimits limits = limits(s.request);
    return s.depth + 1 <= limits.maxDepth() && s.request.spans.size() < limits.maxSpans();
  }

  /** The limits {@code r}'s program is held to: its request's, else the engine's. */
  private PastaLimits limits(RequestState r) {
    return r.request.limitsOr(defaultLimits);
  }

  /**
   * Reserves {@code tokens} of the cache budget for what span {@code s} is about to add, if they fit. A forced token
   * (replay, resume) always gets them: it did the same before, and the tokens forced after it depend on that.
   */
  private boolean reserve(SpanState s, long tokens) {
    if (s.lastForced) {
      kv.reserve(s.request, tokens);
      return true;
    }
    return kv.tryReserve(s.request, tokens, running);
  }

  /** Starts a fork at a promise whose last token the parent feeds at {@code position}. */
  private SpanState fork(SpanState parent, PastaEvent.Promise promise, int position) {
    PastaEvent.AsyncOpen opener = PastaEvent.AsyncOpen.of(promise.topic());
    SpanState child = newSpan(parent.request, parent.id.child(++parent.forkCount), parent, opener,
        cache.fork(parent.kv, parent.pendingTokens.size()));
    // the parent's tokens not yet fed (the promise's last one at least) are fed by the fork too: same context,
    // same positions, so the same cache; they are not the fork's own
    for (int i = 0; i < parent.pendingTokens.size(); i++) {
      child.feed(parent.pendingTokens.get(i), parent.pendingPositions.get(i));
    }
    child.prefixReserved = child.kv.prefixLength();
    int[] openerTokens = tokenizer.encode(opener.raw());
    for (int i = 0; i < openerTokens.length; i++) {
      child.feed(openerTokens[i], position + 1 + i);
    }
    child.nextPosition = position + 1 + openerTokens.length;
    parent.nextPosition += config.reservation().reserve(promise.predictedTokens(), model.defaultReservedTokens(),
        openerTokens.length, closerTokens.length, model.maxPositions());
    forks++;
    parent.outstanding.add(child);
    parent.children.add(child);
    parent.transcript.add(child);
    parent.marks.add(new int[] {parent.decoded, 0});
    notify(parent, l -> l.onFork(parent.id, child.id, promise.topic()));
    return child;
  }

  /** A fork placed elsewhere decodes here after all ({@link ForkPlacer#takeBack}). */
  void takeBack(RequestState r, String span) {
    placer.takeBack(r, span);
  }

  /** The tokens a fork placed elsewhere decoded there: it feeds them from the next step on. */
  void remoteTokens(RequestState r, String span, int[] tokens) {
    placer.tokensBack(r, span, tokens);
  }

  /** Whether {@code s} is the span its request decodes for another engine, or one of that span's forks. */
  private static boolean inFocus(SpanState s) {
    for (SpanState a = s; a != null; a = a.parent) {
      if (a.id.path().equals(s.request.focus)) {
        return true;
      }
    }
    return false;
  }

  /**
   * The span stops decoding (end of sequence, stop string, budget). A fork still feeds a closer. Any span cut by a
   * limit makes the request's answer incomplete: its finish reason becomes LENGTH.
   */
  private void endDecoding(SpanState s, FinishReason reason) {
    if (reason == FinishReason.LENGTH) {
      s.request.cutShort = true;
    }
    if (s.parent == null) {
      spanEnded(s);
      return;
    }
    for (int t : closerTokens) {
      s.feed(t, s.nextPosition++);
    }
    s.status = Status.FINISHING;
  }

  /** The span has written everything it will; done once its own forks are. */
  private void spanEnded(SpanState s) {
    flushText(s);
    s.pendingTokens.clear();
    s.pendingPositions.clear();
    s.status = Status.ENDED;
    s.waitSince = System.nanoTime();
    if (s.parent == null) {
      s.dropCache();
    }
    tryJoin(s);
  }

  void flushText(SpanState s) {
    if (s.flushed) {
      return;
    }
    s.flushed = true;
    String rest = s.detokenizer.finish();
    List<PastaEvent> events = new ArrayList<>(s.parser.feed(rest));
    s.parser.finish(events::add);
    for (PastaEvent e : events) {
      s.transcript.add(e.raw());
      if (e instanceof PastaEvent.Text text) {
        notify(s, l -> l.onText(s.id, text.text()));
      }
    }
    notify(s, l -> l.onSpanEnd(s.id));
  }

  /**
   * Tells the request's stop watch and its listener the same thing; either one throwing fails its request alone (its
   * output is lost). {@code call} runs once for each of them, so it must not change state itself.
   */
  private void notify(SpanState s, Consumer<SpanListener> call) {
    RequestState r = s.request;
    if (r.stops != null) {
      r.guarded(() -> call.accept(r.stops));
    }
    r.guarded(() -> call.accept(r.listener));
  }

  /** Joins a span waiting at a sync (or at its end) once all its outstanding forks are done. */
  private void tryJoin(SpanState s) {
    for (SpanState f : s.outstanding) {
      if (f.status != Status.DONE) {
        return;
      }
    }
    if (s.status == Status.WAIT_FORKS || (s.status == Status.ENDED && s.parent != null)) {
      int next = s.nextPosition;
      List<KvSeq> forks = new ArrayList<>();
      for (SpanState f : s.outstanding) {
        next = Math.max(next, f.nextPosition);
        kv.release(s.request, f.prefixReserved);
        forks.add(f.kv);
      }
      cache.join(s.kv, forks);
      s.outstanding.clear();
      joins++;
      if (s.status == Status.WAIT_FORKS) {
        s.nextPosition = next;
        s.status = Status.ACTIVE;
        s.request.joinWaitNanos += System.nanoTime() - s.waitSince;
        interpret(s, s.deferredToken);
        return;
      }
    }
    if (s.status == Status.ENDED) {
      s.outstanding.forEach(SpanState::dropCache);
      s.outstanding.clear();
      spanDone(s);
    }
  }

  private void spanDone(SpanState s) {
    s.status = Status.DONE;
    SpanState p = s.parent;
    if (p == null) {
      return;
    }
    if (p.status == Status.WAIT_CHILD && p.outstanding.stream().allMatch(f -> f.status == Status.DONE)) {
      p.status = Status.ACTIVE;
      p.request.joinWaitNanos += System.nanoTime() - p.waitSince;
    } else if (p.status == Status.WAIT_FORKS || p.status == Status.ENDED) {
      tryJoin(p);
    }
  }
}
