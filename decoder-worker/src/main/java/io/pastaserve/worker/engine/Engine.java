package io.pastaserve.worker.engine;

import io.pastaserve.common.lang.PastaEvent;
import io.pastaserve.common.lang.PastaLimits;
import io.pastaserve.common.lang.PastaParser;
import io.pastaserve.common.lang.SpanId;
import io.pastaserve.worker.engine.SpanState.Run;
import io.pastaserve.worker.engine.SpanState.Status;
import io.pastaserve.worker.kv.KvBlock;
import io.pastaserve.worker.model.ModelConfig;
import io.pastaserve.worker.model.ModelRunner;
import io.pastaserve.worker.model.Tokenizer;
import io.pastaserve.worker.sampling.Sampler;
import io.pastaserve.worker.sampling.SpanDraws;
import java.nio.FloatBuffer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The decoding engine: one single-threaded step loop that runs every active span of every request as one batch
 * per step, and the PASTA-LANG interpreter that drives it.
 *
 * <p>Each step has three phases. <b>Decode</b>: every span in the batch feeds its one pending token; the model
 * writes the new cache straight into the other of two ping-pong blocks; each span then chooses its next token
 * and the interpreter acts on what it wrote: a promise forks a span that starts from a snapshot of its parent's
 * cache, a sync parks the span until its forks are done, a closer or end of sequence ends a span. <b>Prefill</b>:
 * spans with several tokens to feed (prompts, a fork's opener, an inline chunk's opener, a closer the interpreter
 * adds) run in one more forward pass, under a per-step token budget. <b>Rebuild</b>, only when the batch changes:
 * the next batch's rows are gathered, right-aligned and compacted, from the old batch, the prefill output and
 * parked caches; spans that leave copy their cache into blocks of their own; a join appends each fork's own
 * columns to its parent's.
 *
 * <p>Positions and visibility follow {@code docs/pasta-lang.md} exactly, so async and serial execution of the same
 * program give the same tokens. All fields are owned by the scheduler thread, except the inbox.
 */
public final class Engine implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(Engine.class);

  private final ModelRunner runner;
  private final ModelConfig model;
  private final Tokenizer tokenizer;
  private final EngineConfig config;
  private final PastaLimits limits;
  private final int vocab;
  private final int[] closerTokens;
  private final Sampler sampler = new Sampler();
  private final KvReservation kv;
  /** Where parked caches get their blocks; tests replace it to make an allocation fail. */
  private volatile KvAllocator allocator;
  /** The model's forward pass; tests wrap it to make a pass fail. */
  private volatile ForwardPass forward;
  private final FailureIsolation isolation = new FailureIsolation(this::probe, RequestState::fail);
  private final LinkedBlockingQueue<Runnable> inbox = new LinkedBlockingQueue<>();
  private final Thread loop;
  private volatile boolean closed;
  private volatile StepObserver observer;
  /** Resumed requests feed their known tokens in prefill chunks (off: one per step, as first decoded). */
  private volatile boolean fastForward = true;

  private final Deque<RequestState> waiting = new ArrayDeque<>();
  private final List<RequestState> running = new ArrayList<>();
  private List<SpanState> batch = new ArrayList<>();
  private KvBlock cur;
  private KvBlock alt;
  private final KvBlock prefillPast;
  private final KvBlock prefillPresent;
  private long steps;
  private volatile EngineLoad published = new EngineLoad(0, 0, 0, 0, 0);
  private final java.util.concurrent.atomic.AtomicLong tokensDecoded = new java.util.concurrent.atomic.AtomicLong();
  private final java.util.concurrent.atomic.AtomicLong forksStarted = new java.util.concurrent.atomic.AtomicLong();
  private final java.util.concurrent.atomic.AtomicLong joinsDone = new java.util.concurrent.atomic.AtomicLong();
  private volatile boolean profiling;
  private final List<StepProfile> profile = new ArrayList<>();
  private int stepForks;
  private int stepJoins;
  private int stepAdmissions;
  private long[] ids = new long[64];
  private long[] positions = new long[64];
  private long[] mask = new long[1024];

  public Engine(ModelRunner runner, EngineConfig config) {
    this.runner = runner;
    this.model = runner.config();
    this.tokenizer = runner.tokenizer();
    this.config = config;
    this.limits = config.limits();
    this.kv = new KvReservation(config.kvBudgetTokens());
    this.vocab = model.vocabSize();
    this.closerTokens = tokenizer.encode(PastaEvent.AsyncClose.CANONICAL);
    this.cur = runner.newKvBlock();
    this.alt = runner.newKvBlock();
    this.prefillPast = runner.newKvBlock();
    this.prefillPresent = runner.newKvBlock();
    this.allocator = KvAllocator.of(runner);
    this.forward = runner::forward;
    cur.reshape(0, 0);
    this.loop = new Thread(this::run, "pasta-scheduler");
    this.loop.setDaemon(true);
    this.loop.start();
  }

  public ModelRunner runner() {
    return runner;
  }

  public EngineConfig config() {
    return config;
  }

  /** Tests: feed a resumed request's known tokens one per step instead of in chunks. */
  void fastForward(boolean on) {
    this.fastForward = on;
  }

  /** Tests: parked caches get their blocks from {@code newAllocator}. */
  void allocator(KvAllocator newAllocator) {
    this.allocator = newAllocator;
  }

  /** Tests: forward passes run through {@code pass}. */
  void forwardPass(ForwardPass pass) {
    this.forward = pass;
  }

  /** Runs {@code rows}' pending input again, alone, output discarded: throws what the pass throws. */
  private void probe(List<SpanState> rows, List<Integer> chunks) {
    forwardPending(rows, chunks, false);
  }

  /** Sees every span's logits from now on (tests, diagnostics); null to stop. */
  public void observe(StepObserver newObserver) {
    this.observer = newObserver;
  }

  /**
   * Queues a request. Thread-safe. The future completes with the answer; it completes exceptionally only for a
   * request that cannot run at all (a prompt longer than the context, an unreadable replay).
   */
  public CompletableFuture<GenerationResult> submit(GenerationRequest request) {
    return submit(request, SpanListener.NONE);
  }

  /** Queues a request whose spans {@code listener} follows as they decode. Thread-safe. */
  public CompletableFuture<GenerationResult> submit(GenerationRequest request, SpanListener listener) {
    CompletableFuture<GenerationResult> future = new CompletableFuture<>();
    if (closed) {
      future.completeExceptionally(new IllegalStateException("engine closed"));
      return future;
    }
    int[] prompt = tokenizer.encode(model.applyChatTemplate(request.prompt()));
    if (prompt.length == 0 || prompt.length >= model.maxPositions()) {
      future.completeExceptionally(new IllegalArgumentException("the prompt takes " + prompt.length
          + " tokens; this model's context holds " + model.maxPositions()));
      return future;
    }
    Map<String, int[]> forced = request.forcing().map(f -> ForcedTokens.bySpan(f, limits, tokenizer,
        model.eosTokenId())).orElse(null);
    boolean resume = request.forcing().filter(f -> f instanceof Forcing.Resume).isPresent();
    RequestState state = new RequestState(request, future, prompt, forced, resume, listener);
    inbox.add(() -> waiting.add(state));
    return future;
  }

  /** Cancels a request: every span stops and its cache is freed within a step. Thread-safe. */
  public void cancel(String requestId) {
    inbox.add(() -> {
      for (RequestState r : running) {
        if (r.id.equals(requestId)) {
          r.cancelled = true;
        }
      }
      waiting.removeIf(r -> {
        if (r.id.equals(requestId)) {
          r.future.complete(result(r, FinishReason.CANCELLED, ""));
          return true;
        }
        return false;
      });
    });
  }

  /** Submits and waits. */
  public GenerationResult generate(GenerationRequest request) {
    return submit(request).join();
  }

  /** The load as of the end of the last step; cheap, for gauges. Thread-safe. */
  public EngineLoad lastLoad() {
    return published;
  }

  /** Tokens decoded, forks started and joins done since the engine started. Thread-safe. */
  public long[] totals() {
    return new long[] {tokensDecoded.get(), forksStarted.get(), joinsDone.get()};
  }

  /** A snapshot of the scheduler's load, taken on the scheduler thread. */
  public CompletableFuture<EngineLoad> load() {
    CompletableFuture<EngineLoad> f = new CompletableFuture<>();
    inbox.add(() -> f.complete(currentLoad()));
    return f;
  }

  @Override
  public void close() {
    closed = true;
    loop.interrupt();
    try {
      loop.join(5000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  // ---------------------------------------------------------------------------------------------- the loop

  private void run() {
    while (!closed) {
      try {
        Runnable command = running.isEmpty() && waiting.isEmpty() ? inbox.poll(100, TimeUnit.MILLISECONDS)
            : inbox.poll();
        while (command != null) {
          command.run();
          command = inbox.poll();
        }
        if (!running.isEmpty() || !waiting.isEmpty()) {
          step();
        }
      } catch (InterruptedException e) {
        break;
      } catch (RuntimeException | Error e) {
        log.error("engine step failed; failing the running requests", e);
        for (RequestState r : running) {
          if (!r.future.isDone()) {
            r.future.complete(result(r, FinishReason.ERROR, describe(e)));
          }
        }
        running.clear();
        batch = new ArrayList<>();
        cur.reshape(0, 0);
        published = new EngineLoad(waiting.size(), 0, 0, 0, 0);
      }
    }
    for (RequestState r : running) {
      r.future.complete(result(r, FinishReason.CANCELLED, "engine closed"));
    }
    for (RequestState r : waiting) {
      r.future.complete(result(r, FinishReason.CANCELLED, "engine closed"));
    }
  }

  private void step() {
    steps++;
    stepForks = 0;
    stepJoins = 0;
    stepAdmissions = 0;
    dropCancelled();
    admit();
    int rows = batch.size();
    long t0 = System.nanoTime();
    decode();
    long t1 = System.nanoTime();
    int prefillRows = prefill();
    long t2 = System.nanoTime();
    for (RequestState r : running) {
      if (r.listener != SpanListener.NONE) {
        r.guarded(r.listener::onStep);
      }
    }
    // the step's peak: finished requests have not given their cache back yet
    long kvPeak = profiling ? KvReservation.held(running) : 0;
    finishRequests();
    boolean rebuilt = rebuild();
    long t3 = System.nanoTime();
    forksStarted.addAndGet(stepForks);
    joinsDone.addAndGet(stepJoins);
    published = currentLoad();
    if (profiling) {
      synchronized (profile) {
        profile.add(new StepProfile(rows, t1 - t0, prefillRows, t2 - t1, rebuilt, t3 - t2, stepForks, stepJoins,
            stepAdmissions, kvPeak));
      }
    }
  }

  private EngineLoad currentLoad() {
    return new EngineLoad(waiting.size(), running.size(),
        (int) running.stream().flatMap(r -> r.spans.stream()).filter(s -> s.status != Status.DONE).count(),
        KvReservation.held(running), batch.size());
  }

  /** Starts or stops recording a {@link StepProfile} per step (benchmarks). */
  public void profile(boolean on) {
    profiling = on;
  }

  /** The steps recorded since the last call. Thread-safe. */
  public List<StepProfile> drainProfile() {
    synchronized (profile) {
      List<StepProfile> out = List.copyOf(profile);
      profile.clear();
      return out;
    }
  }

  /**
   * What one step did and how long each phase took.
   *
   * @param decodeRows rows in the decode pass (0: none ran)
   * @param decodeNanos time of the decode pass, sampling and interpretation included
   * @param prefillRows rows in the prefill pass (0: none ran)
   * @param prefillNanos time of the prefill pass
   * @param rebuilt whether the batch was rebuilt
   * @param rebuildNanos time of parking and rebuilding
   * @param forks spans forked in this step
   * @param joins joins in this step
   * @param admissions requests admitted in this step
   * @param kvTokens cache tokens the spans held after the passes, before finished requests gave theirs back
   */
  public record StepProfile(int decodeRows, long decodeNanos, int prefillRows, long prefillNanos, boolean rebuilt,
      long rebuildNanos, int forks, int joins, int admissions, long kvTokens) {

    public long totalNanos() {
      return decodeNanos + prefillNanos + rebuildNanos;
    }
  }

  private void dropCancelled() {
    for (RequestState r : running) {
      if (r.cancelled && !r.done) {
        for (SpanState s : r.spans) {
          s.status = Status.DONE;
          s.dropCache();
        }
        r.finishReason = FinishReason.CANCELLED;
        r.done = true;
      }
    }
  }

  private void admit() {
    while (!waiting.isEmpty()) {
      RequestState r = waiting.peek();
      int busy = (int) running.stream().flatMap(x -> x.spans.stream()).filter(SpanState::runnable).count();
      // what admitted requests may still grow to, not what they hold now: a request admitted a step ago holds
      // no cache yet, and counting only current use would let a burst in all at once
      if (!kv.admits(r, running) || busy >= config.maxBatch()) {
        return;
      }
      waiting.poll();
      stepAdmissions++;
      r.admittedStep = steps;
      r.admittedNanos = System.nanoTime();
      SpanState main = newSpan(r, SpanId.MAIN, null, null);
      for (int i = 0; i < r.promptTokens.length; i++) {
        main.feed(r.promptTokens[i], i);
      }
      main.nextPosition = r.promptTokens.length;
      r.main = main;
      running.add(r);
    }
  }

  // ---------------------------------------------------------------------------------------------- phase A

  private void decode() {
    if (batch.isEmpty()) {
      return;
    }
    int rows = batch.size();
    int past = cur.columns();
    int total = past + 1;
    ensureInputs(rows, rows * total);
    Arrays.fill(mask, 0, rows * total, 0L);
    for (int r = 0; r < rows; r++) {
      SpanState s = batch.get(r);
      ids[r] = s.pendingTokens.get(0);
      positions[r] = s.pendingPositions.get(0);
      Arrays.fill(mask, r * total + past - s.kvLength, r * total + total, 1L);
    }
    FloatBuffer logits;
    try {
      logits = forward.run(rows, 1, ids, positions, mask, cur, alt);
    } catch (RuntimeException | Error e) {
      // the batch is left as it was (its new cache went to the other block): it runs again without the culprit
      isolation.isolate(batch, Collections.nCopies(rows, 1), e);
      return;
    }
    swapBlocks();
    List<SpanState> fed = batch;
    for (SpanState s : fed) {
      s.kvLength++;
      s.pendingTokens.removeFirst(1);
      s.pendingPositions.removeFirst(1);
    }
    for (int r = 0; r < rows; r++) {
      SpanState s = fed.get(r);
      int offset = r * vocab;
      s.request.guarded(() -> afterFeed(s, logits, offset));
    }
  }

  // ---------------------------------------------------------------------------------------------- phase B

  private int prefill() {
    List<SpanState> rows = new ArrayList<>();
    List<Integer> chunks = new ArrayList<>();
    int budget = config.prefillTokensPerStep();
    for (RequestState r : running) {
      if (r.failure != null) {
        continue;
      }
      for (SpanState s : r.spans) {
        if (!s.runnable() || s.pendingTokens.size() < 2 || rows.size() >= config.maxBatch()) {
          continue;
        }
        if (budget <= 0 && !rows.isEmpty()) {
          break;
        }
        int chunk = Math.min(s.pendingTokens.size(), Math.max(1, budget));
        rows.add(s);
        chunks.add(chunk);
        budget -= chunk;
      }
    }
    if (rows.isEmpty()) {
      return 0;
    }
    Prefill pass;
    try {
      pass = forwardPending(rows, chunks, true);
    } catch (RuntimeException | Error e) {
      isolation.isolate(rows, chunks, e);
      return rows.size();
    }
    int n = rows.size();
    for (int i = 0; i < n; i++) {
      SpanState s = rows.get(i);
      int chunk = chunks.get(i);
      s.row = -1;
      s.runs = new ArrayList<>(List.of(new Run(prefillPresent, i, pass.pastColumns() - s.kvLength,
          s.kvLength + chunk)));
      s.kvLength += chunk;
      s.pendingTokens.removeFirst(chunk);
      s.pendingPositions.removeFirst(chunk);
    }
    for (int i = 0; i < n; i++) {
      SpanState s = rows.get(i);
      int offset = (i * pass.seq() + chunks.get(i) - 1) * vocab;
      if (s.pendingTokens.isEmpty() && s.runnable()) {
        s.request.guarded(() -> afterFeed(s, pass.logits(), offset));
      }
    }
    return n;
  }

  /** A prefill pass's output: logits of {@code rows x seq} tokens, over {@code pastColumns} gathered columns. */
  private record Prefill(FloatBuffer logits, int pastColumns, int seq) {
  }

  /**
   * Runs the first {@code chunks} pending tokens of each of {@code rows} on top of its cache, gathered into the prefill
   * block (or, with {@code inPlace}, read in place when there is one row whose whole past is a batch row); the new
   * cache goes to the prefill output block. Changes no span.
   */
  private Prefill forwardPending(List<SpanState> rows, List<Integer> chunks, boolean inPlace) {
    int n = rows.size();
    // one row whose whole past is a batch row (a fork of a span in the batch, usually): read that row in
    // place instead of gathering a copy; its masked left padding comes along, masked
    List<Run> only = n == 1 && inPlace ? currentRuns(rows.get(0)) : List.of();
    boolean readInPlace = only.size() == 1 && only.get(0).block() == cur
        && only.get(0).start() + only.get(0).length() == cur.columns();
    KvBlock past = readInPlace ? KvBlock.rowOf(cur, only.get(0).row()) : prefillPast;
    int pastColumns = readInPlace ? cur.columns() : rows.stream().mapToInt(s -> s.kvLength).max().orElse(0);
    int seq = chunks.stream().mapToInt(Integer::intValue).max().orElse(1);
    int total = pastColumns + seq;
    if (!readInPlace) {
      prefillPast.reshape(n, pastColumns);
    }
    ensureInputs(n * seq, n * total);
    Arrays.fill(mask, 0, n * total, 0L);
    for (int i = 0; i < n; i++) {
      SpanState s = rows.get(i);
      int chunk = chunks.get(i);
      int column = pastColumns - s.kvLength;
      for (Run run : readInPlace ? List.<Run>of() : currentRuns(s)) {
        KvBlock.copyColumns(run.block(), run.row(), run.start(), prefillPast, i, column, run.length());
        column += run.length();
      }
      for (int j = 0; j < seq; j++) {
        boolean real = j < chunk;
        ids[i * seq + j] = real ? s.pendingTokens.get(j) : model.padTokenId();
        positions[i * seq + j] = real ? s.pendingPositions.get(j) : 0;
      }
      Arrays.fill(mask, i * total + pastColumns - s.kvLength, i * total + pastColumns + chunk, 1L);
    }
    return new Prefill(forward.run(n, seq, ids, positions, mask, past, prefillPresent), pastColumns, seq);
  }

  // ---------------------------------------------------------------------------------------------- phase C

  private boolean rebuild() {
    List<SpanState> next = new ArrayList<>();
    for (SpanState s : batch) {
      if (s.inBatch() && s.runnable() && s.pendingTokens.size() == 1) {
        next.add(s);
      }
    }
    boolean changed = next.size() != batch.size();
    for (RequestState r : running) {
      for (SpanState s : r.spans) {
        if (next.size() >= config.maxBatch()) {
          break;
        }
        if (!s.inBatch() && s.runnable() && s.pendingTokens.size() == 1) {
          next.add(s);
          changed = true;
        }
      }
    }
    // whoever is left out must own its cache before the transient blocks are reused
    for (RequestState r : running) {
      for (SpanState s : r.spans) {
        if (!next.contains(s) && (s.inBatch() || referencesTransient(s))) {
          r.guarded(() -> park(s));
        }
      }
    }
    changed |= next.removeIf(s -> s.request.failure != null);
    while (changed) {
      try {
        gather(next);
        break;
      } catch (RuntimeException | Error e) {
        if (next.isEmpty()) {
          throw e;
        }
        // the batch's rows cannot be gathered (no memory for the block, usually): the largest request fails
        isolation.failLargest(next, e);
        next.removeIf(s -> s.request.failure != null);
      }
    }
    if (changed) {
      for (int i = 0; i < next.size(); i++) {
        SpanState s = next.get(i);
        s.row = i;
        s.runs = new ArrayList<>();
      }
      swapBlocks();
    }
    batch = next;
    return changed;
  }

  /** Copies the caches of the next batch's spans, right-aligned, into the spare block. */
  private void gather(List<SpanState> next) {
    int columns = next.stream().mapToInt(s -> s.kvLength).max().orElse(0);
    alt.reshape(next.size(), columns);
    for (int i = 0; i < next.size(); i++) {
      SpanState s = next.get(i);
      int column = columns - s.kvLength;
      for (Run run : currentRuns(s)) {
        KvBlock.copyColumns(run.block(), run.row(), run.start(), alt, i, column, run.length());
        column += run.length();
      }
    }
  }

  private boolean referencesTransient(SpanState s) {
    for (Run run : s.runs) {
      KvBlock b = run.block();
      if (b == cur || b == alt || b == prefillPast || b == prefillPresent) {
        return true;
      }
    }
    return false;
  }

  /** Copies a span's cache (a finished fork: only its own columns) into a block of its own. */
  private void park(SpanState s) {
    boolean ownOnly = s.status == Status.DONE && s.parent != null;
    int skip = ownOnly ? s.prefixLength : 0;
    int length = s.kvLength - skip;
    List<Run> source = Run.slice(currentRuns(s), skip, length);
    KvBlock block = allocator.allocate(s.request.id, s.id, length);
    int column = 0;
    for (Run run : source) {
      KvBlock.copyColumns(run.block(), run.row(), run.start(), block, 0, column, run.length());
      column += run.length();
    }
    s.row = -1;
    s.runs = new ArrayList<>(List.of(new Run(block, 0, 0, length)));
    s.kvLength = length;
    if (ownOnly) {
      s.prefixLength = 0;
    }
  }

  /** Where a span's cache is now. */
  private List<Run> currentRuns(SpanState s) {
    if (s.inBatch()) {
      return List.of(new Run(cur, s.row, cur.columns() - s.kvLength, s.kvLength));
    }
    return s.runs;
  }

  private void swapBlocks() {
    KvBlock t = cur;
    cur = alt;
    alt = t;
  }

  // ---------------------------------------------------------------------------------------------- interpreter

  private SpanState newSpan(RequestState r, SpanId id, SpanState parent, PastaEvent.AsyncOpen opener) {
    int[] forced = r.forced == null ? null : r.forced.getOrDefault(id.path(), new int[0]);
    SpanState s = new SpanState(r, id, parent, opener, new PastaParser(limits), tokenizer.newDetokenizer(),
        SpanDraws.of(r.request.sampling().seed(), id), forced);
    r.spans.add(s);
    return s;
  }

  /** A span's pending input has all been fed; {@code offset} locates the logits of its last token. */
  private void afterFeed(SpanState s, FloatBuffer logits, int offset) {
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
    s.lastForced = s.forced != null && (s.forcedNext < s.forced.length || !s.request.sampleAfterForced);
    if (s.forced != null && s.forcedNext < s.forced.length) {
      token = s.forced[s.forcedNext++];
    } else if (s.forced != null && !s.request.sampleAfterForced) {
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
      detach(s);
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
    notify(s, l -> l.onToken(s.id, s.reported++, token));
    String piece = s.detokenizer.next(token);
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
        if (canFork(s) && reserve(s, s.kvLength + s.pendingTokens.size() + openerTokens.length
            + closerTokens.length)) {
          fork(s, promise, position);
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

  private boolean canFork(SpanState s) {
    return s.depth + 1 <= limits.maxDepth() && s.request.spans.size() < limits.maxSpans();
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
  private void fork(SpanState parent, PastaEvent.Promise promise, int position) {
    PastaEvent.AsyncOpen opener = PastaEvent.AsyncOpen.of(promise.topic());
    SpanState child = newSpan(parent.request, parent.id.child(++parent.forkCount), parent, opener);
    child.runs = new ArrayList<>(currentRuns(parent));
    child.kvLength = parent.kvLength;
    // the parent's tokens not yet fed (the promise's last one at least) are fed by the fork too: same context,
    // same positions, so the same cache; they are not the fork's own
    for (int i = 0; i < parent.pendingTokens.size(); i++) {
      child.feed(parent.pendingTokens.get(i), parent.pendingPositions.get(i));
    }
    child.prefixLength = parent.kvLength + parent.pendingTokens.size();
    child.prefixReserved = child.prefixLength;
    int[] openerTokens = tokenizer.encode(opener.raw());
    for (int i = 0; i < openerTokens.length; i++) {
      child.feed(openerTokens[i], position + 1 + i);
    }
    child.nextPosition = position + 1 + openerTokens.length;
    parent.nextPosition += config.reservation().reserve(promise.predictedTokens(), model.defaultReservedTokens(),
        openerTokens.length, closerTokens.length, model.maxPositions());
    stepForks++;
    parent.outstanding.add(child);
    parent.children.add(child);
    parent.transcript.add(child);
    parent.marks.add(new int[] {parent.decoded, 0});
    notify(parent, l -> l.onFork(parent.id, child.id, promise.topic()));
  }

  /**
   * The span stops decoding (end of sequence, stop string, budget). A fork still feeds a closer. Any span cut by a
   * limit makes the request's answer incomplete: its finish reason becomes LENGTH.
   */
  private void endDecoding(SpanState s, FinishReason reason) {
    if (reason == FinishReason.LENGTH) {
      s.request.finishReason = FinishReason.LENGTH;
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
    if (s.parent == null) {
      s.dropCache();
    }
    tryJoin(s);
  }

  private void flushText(SpanState s) {
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

  /** Tells the request's stop watch and listener; a listener that throws fails its request (its output is lost). */
  private void notify(SpanState s, java.util.function.Consumer<SpanListener> call) {
    RequestState r = s.request;
    if (r.stops != null) {
      call.accept(r.stops);
    }
    if (r.failure == null) {
      r.guarded(() -> call.accept(r.listener));
    }
  }


  private void detach(SpanState s) {
    if (s.inBatch()) {
      s.runs = new ArrayList<>(currentRuns(s));
      s.row = -1;
    }
  }

  /** Joins a span waiting at a sync (or at its end) once all its outstanding forks are done. */
  private void tryJoin(SpanState s) {
    for (SpanState f : s.outstanding) {
      if (f.status != Status.DONE) {
        return;
      }
    }
    if (s.status == Status.WAIT_FORKS || (s.status == Status.ENDED && s.parent != null)) {
      detach(s);
      List<Run> runs = new ArrayList<>(currentRuns(s));
      int next = s.nextPosition;
      for (SpanState f : s.outstanding) {
        int own = f.kvLength - f.prefixLength;
        runs.addAll(Run.slice(currentRuns(f), f.prefixLength, own));
        s.kvLength += own;
        next = Math.max(next, f.nextPosition);
        kv.release(s.request, f.prefixReserved);
        f.dropCache();
      }
      s.runs = runs;
      s.outstanding.clear();
      stepJoins++;
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

  // ---------------------------------------------------------------------------------------------- results

  private void finishRequests() {
    for (RequestState r : running) {
      if (r.failure != null && !r.done) {
        r.fail(r.failure);
        r.finishReason = FinishReason.ERROR;
        r.done = true;
      }
      if (r.halted() && !r.done) {
        // a stop string in the answer ends it complete; a spent budget leaves it cut short
        r.finishReason = r.stops != null && r.stops.matched() ? FinishReason.STOP : FinishReason.LENGTH;
        for (SpanState s : r.spans) {
          if (s.status != Status.DONE) {
            flushText(s);
            s.status = Status.DONE;
          }
          s.dropCache();
        }
        r.done = true;
      }
      if (!r.done && r.main.status == Status.DONE) {
        r.done = true;
      }
      if (r.done) {
        for (SpanState s : r.spans) {
          s.dropCache();
        }
        complete(r);
      }
    }
    running.removeIf(r -> r.done);
  }

  /** Completes a finished request's future with its answer (exceptionally if even that cannot be built). */
  private void complete(RequestState r) {
    try {
      r.future.complete(result(r, r.finishReason, r.failure == null ? "" : describe(r.failure)));
    } catch (RuntimeException | Error e) {
      log.warn("request {}: its answer cannot be built: {}", r.id, e.toString());
      r.future.completeExceptionally(e);
    }
  }

  private static String describe(Throwable e) {
    return e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
  }

  private GenerationResult result(RequestState r, FinishReason reason, String error) {
    return Answers.of(r, reason, error, limits, r.admittedStep < 0 ? 0 : steps - r.admittedStep);
  }

  private void ensureInputs(int tokens, int maskLength) {
    if (ids.length < tokens) {
      ids = new long[Math.max(tokens, ids.length * 2)];
      positions = new long[ids.length];
    }
    if (mask.length < maskLength) {
      mask = new long[Math.max(maskLength, mask.length * 2)];
    }
  }

  /** The load of an engine at one moment. */
  public record EngineLoad(int queued, int running, int activeSpans, long kvTokens, int batchRows) {
  }
}
