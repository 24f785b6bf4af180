package io.pastaserve.worker.engine;

import io.pastaserve.common.lang.PastaLimits;
import io.pastaserve.worker.kv.BlockKvCache;
import io.pastaserve.worker.kv.SlotKvCache;
import io.pastaserve.worker.kv.KvAllocator;
import io.pastaserve.worker.kv.KvCache;
import io.pastaserve.worker.model.ModelConfig;
import io.pastaserve.worker.model.ModelRunner;
import io.pastaserve.worker.model.Tokenizer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.UnaryOperator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The decoding engine: one single-threaded step loop (the scheduler) that runs every active span of every request as
 * one batch per step. Its rooms, each with its own contract: {@link Admission} queues requests and admits them within
 * the cache budget ({@link KvReservation}); {@link BatchRunner} runs a step's forward passes (decode, prefill) and
 * rebuilds the batch when it changes; {@link SpanProgram} acts on what each span writes (fork, sync and join, end);
 * the {@link KvCache} keeps every span's cache and moves it; {@link Answers} builds a finished request's answer.
 *
 * <p>A step: take the inbox's commands (submit, cancel, load), admit what fits, decode, prefill, complete the
 * requests that finished, rebuild the batch. Positions and visibility follow {@code docs/pasta-lang.md} exactly, so
 * async and serial execution of the same program give the same tokens. Every room is owned by the scheduler thread;
 * other threads only add to the inbox and read the published load and totals.
 */
public final class Engine implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(Engine.class);

  private final ModelRunner runner;
  private final ModelConfig model;
  private final Tokenizer tokenizer;
  private final EngineConfig config;
  /** The limits of a request that carries none ({@link GenerationRequest#limits}). */
  private final PastaLimits limits;
  /** Where parked caches get their blocks; tests replace it to make an allocation fail. */
  private volatile KvAllocator allocator;
  private final Admission admission;
  private final SpanProgram program;
  private final BatchRunner batch;
  private final LinkedBlockingQueue<Runnable> inbox = new LinkedBlockingQueue<>();
  private final Thread loop;
  private volatile boolean closed;

  /** Admitted requests, in admission order; finished ones leave at the end of the step. */
  private final List<RequestState> running = new ArrayList<>();
  /** Running requests cancelled since the last step began: the next one ends them. */
  private final List<RequestState> cancelling = new ArrayList<>();
  private long steps;
  private volatile EngineLoad published = new EngineLoad(0, 0, 0, 0, 0);
  private final AtomicLong forksStarted = new AtomicLong();
  private final AtomicLong joinsDone = new AtomicLong();
  private volatile boolean profiling;
  private final List<StepProfile> profile = new ArrayList<>();
  private int stepAdmissions;

  public Engine(ModelRunner runner, EngineConfig config) {
    this(runner, config, UnaryOperator.identity());
  }

  /** Tests: the spans' caches are kept by what {@code cacheSeam} makes of the engine's own cache. */
  Engine(ModelRunner runner, EngineConfig config, UnaryOperator<KvCache> cacheSeam) {
    this.runner = runner;
    this.model = runner.config();
    this.tokenizer = runner.tokenizer();
    this.config = config;
    this.limits = config.limits();
    KvReservation kv = new KvReservation(config.kvBudgetTokens());
    this.admission = new Admission(kv, config.maxBatch());
    this.allocator = KvAllocator.of(runner::newKvBlock);
    KvAllocator parked = (requestId, span, columns) -> allocator.allocate(requestId, span, columns);
    // a static-cache model runs fixed slots written in place; the contract's graph, right-aligned ping-pong blocks
    KvCache cache = cacheSeam.apply(model.staticCache()
        ? new SlotKvCache(runner::newKvBlock, parked, config.maxBatch(), model.maxPositions())
        : new BlockKvCache(runner::newKvBlock, parked));
    if (model.staticCache()) {
      // the fixed-shape sessions are made now rather than in the first request's steps
      runner.prepareSlots(config.maxBatch(), model.maxPositions());
    }
    this.program = new SpanProgram(model, tokenizer, config, cache, kv, running);
    this.batch = new BatchRunner(model, config, cache, program, running, runner::forward);
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
    program.fastForward(on);
  }

  /** Tests: parked caches get their blocks from {@code newAllocator}. */
  void allocator(KvAllocator newAllocator) {
    this.allocator = newAllocator;
  }

  /** Tests: forward passes run through {@code pass}. */
  void forwardPass(ForwardPass pass) {
    batch.forwardPass(pass);
  }

  /** Sees every span's logits from now on (tests, diagnostics); null to stop. */
  public void observe(StepObserver newObserver) {
    program.observe(newObserver);
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
    PastaLimits requestLimits = request.limitsOr(limits);
    Map<String, int[]> forced = request.forcing().map(f -> ForcedTokens.bySpan(f, requestLimits, tokenizer,
        model.eosTokenId())).orElse(null);
    boolean resume = request.forcing().filter(f -> f instanceof Forcing.Resume || f instanceof Forcing.Fork)
        .isPresent();
    String focus = request.forcing().filter(f -> f instanceof Forcing.Fork).map(f -> ((Forcing.Fork) f).span())
        .orElse(null);
    Map<String, int[]> forks = request.forcing().map(ForcedTokens::forksBySpan).orElse(null);
    ForkPrefixKv prefixKv = KvForkStart.usable(request, forced, focus, model);
    RequestState state = new RequestState(request, future, prompt, forced, forks, resume, focus, prefixKv,
        listener);
    inbox.add(() -> admission.add(state));
    return future;
  }

  /**
   * Sends the forks this engine places elsewhere ({@code placement}, {@link ForkPlacement#LOCAL} by default) to
   * {@code sink}, with their token ids only; their tokens come back through {@link #remoteForkDone}. Thread-safe.
   */
  public void placeForks(ForkPlacement placement, RemoteForks sink) {
    placeForks(placement, sink, ForkPrefix.TOKENS);
  }

  /**
   * As {@link #placeForks(ForkPlacement, RemoteForks)}; with {@link ForkPrefix#KV} each job also carries the fork's
   * prefix off its parent's cache ({@link RemoteFork#prefixKv}), copied on the scheduler thread at the promise.
   */
  public void placeForks(ForkPlacement placement, RemoteForks sink, ForkPrefix prefix) {
    inbox.add(() -> program.placeForks(placement, sink, prefix));
  }

  /**
   * The tokens that fork {@code span} of request {@code requestId}, placed elsewhere, decoded there (all of them, its
   * closer included when it wrote one): the fork feeds them, ends, and is joined. Thread-safe.
   */
  public void remoteForkDone(String requestId, String span, List<Integer> tokens) {
    int[] ids = tokens.stream().mapToInt(Integer::intValue).toArray();
    inbox.add(() -> {
      for (RequestState r : running) {
        if (r.id.equals(requestId)) {
          r.guarded(() -> program.remoteTokens(r, span, ids));
        }
      }
    });
  }

  /**
   * Fork {@code span} of request {@code requestId}, placed elsewhere, decodes here after all: no other engine will
   * (nobody took its job, the engine that took it is gone or failed, or it is late). It decodes as a fork beside its
   * parent would have, from its pending opener, with the same draws; nothing happens when its tokens are back already.
   * Thread-safe.
   */
  public void remoteForkTakenBack(String requestId, String span) {
    inbox.add(() -> {
      for (RequestState r : running) {
        if (r.id.equals(requestId)) {
          r.guarded(() -> program.takeBack(r, span));
        }
      }
    });
  }

  /** Cancels a request: every span stops and its cache is freed within a step. Thread-safe. */
  public void cancel(String requestId) {
    inbox.add(() -> {
      for (RequestState r : running) {
        if (r.id.equals(requestId)) {
          cancelling.add(r);
        }
      }
      for (RequestState r : admission.remove(r -> r.id.equals(requestId))) {
        finish(r, RequestStatus.FINISHED_CANCELLED, "");
      }
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
    return new long[] {program.tokensDecoded.get(), forksStarted.get(), joinsDone.get()};
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
        Runnable command = running.isEmpty() && admission.isEmpty() ? inbox.poll(100, TimeUnit.MILLISECONDS)
            : inbox.poll();
        while (command != null) {
          command.run();
          command = inbox.poll();
        }
        if (!running.isEmpty() || !admission.isEmpty()) {
          step();
        }
      } catch (InterruptedException e) {
        break;
      } catch (RuntimeException | Error e) {
        log.error("engine step failed; failing the running requests", e);
        for (RequestState r : running) {
          r.releaseCache();
          if (!r.future.isDone()) {
            finish(r, RequestStatus.FINISHED_ERROR, describe(e));
          }
        }
        running.clear();
        cancelling.clear();
        batch.clear();
        published = new EngineLoad(admission.size(), 0, 0, 0, 0);
      }
    }
    for (RequestState r : running) {
      finish(r, RequestStatus.FINISHED_CANCELLED, "engine closed");
    }
    for (RequestState r : admission.drain()) {
      finish(r, RequestStatus.FINISHED_CANCELLED, "engine closed");
    }
  }

  private void step() {
    steps++;
    program.forks = 0;
    program.joins = 0;
    stepAdmissions = 0;
    dropCancelled();
    admit();
    int rows = batch.size();
    long t0 = System.nanoTime();
    batch.decode();
    long t1 = System.nanoTime();
    int prefillRows = batch.prefill();
    long t2 = System.nanoTime();
    for (RequestState r : running) {
      if (r.listener != SpanListener.NONE) {
        r.guarded(r.listener::onStep);
      }
    }
    // the step's peak: finished requests have not given their cache back yet
    long kvPeak = profiling ? KvReservation.held(running) : 0;
    finishRequests();
    boolean rebuilt = batch.rebuild();
    long t3 = System.nanoTime();
    forksStarted.addAndGet(program.forks);
    joinsDone.addAndGet(program.joins);
    published = currentLoad();
    if (profiling) {
      synchronized (profile) {
        profile.add(new StepProfile(rows, t1 - t0, prefillRows, t2 - t1, rebuilt, t3 - t2, program.forks,
            program.joins, stepAdmissions, kvPeak));
      }
    }
  }

  private EngineLoad currentLoad() {
    return new EngineLoad(admission.size(), running.size(),
        (int) running.stream().flatMap(r -> r.spans.stream()).filter(s -> s.status != SpanState.Status.DONE)
            .count(),
        KvReservation.held(running), batch.size());
  }

  /** Ends the cancelled requests: their spans stop and drop their cache; this step completes them. */
  private void dropCancelled() {
    for (RequestState r : cancelling) {
      if (!r.status.isFinished()) {
        r.guarded(() -> r.end(RequestStatus.FINISHED_CANCELLED));
      }
    }
    cancelling.clear();
  }

  /** Admits the waiting requests that fit, in arrival order: each starts with its main span and prompt. */
  private void admit() {
    RequestState r;
    while ((r = admission.next(running)) != null) {
      stepAdmissions++;
      r.status = RequestStatus.RUNNING;
      r.admittedStep = steps;
      r.admittedNanos = System.nanoTime();
      RequestState admitted = r;
      // a request that cannot even start fails alone, at the end of this step
      r.guarded(() -> program.start(admitted));
      running.add(r);
    }
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

  // ---------------------------------------------------------------------------------------------- results

  /** Ends the requests that finished in this step and completes their answers; they leave the running list. */
  private void finishRequests() {
    for (RequestState r : running) {
      try {
        finishIfDone(r);
      } catch (RuntimeException | Error e) {
        // ending it went wrong: it fails, alone
        r.fail(e);
        r.status = RequestStatus.FINISHED_ERROR;
        complete(r);
      }
    }
    running.removeIf(r -> r.status.isFinished());
  }

  /** Ends {@code r} if it failed, is halted or its main span is done, and completes its answer. */
  private void finishIfDone(RequestState r) {
    if (r.halted() && !r.status.isFinished() && r.failure == null) {
      // a stop string in the answer ends it complete; a spent budget leaves it cut short
      for (SpanState s : r.spans) {
        if (s.status != SpanState.Status.DONE) {
          r.guarded(() -> program.flushText(s));
        }
      }
      if (r.failure == null) {
        r.end(r.stops != null && r.stops.matched() ? RequestStatus.FINISHED_STOPPED : RequestStatus.FINISHED_LENGTH);
      }
    }
    if (r.failure != null && !r.status.isFinished()) {
      r.fail(r.failure);
      r.status = RequestStatus.FINISHED_ERROR;
    }
    SpanState last = r.finalSpan();
    if (!r.status.isFinished() && last != null && last.status == SpanState.Status.DONE) {
      r.status = r.cutShort ? RequestStatus.FINISHED_LENGTH : RequestStatus.FINISHED_STOPPED;
    }
    if (r.status.isFinished()) {
      r.releaseCache();
      complete(r);
    }
  }

  /** Completes a finished request's future with its answer (exceptionally if even that cannot be built). */
  private void complete(RequestState r) {
    try {
      r.future.complete(result(r, r.failure == null ? "" : describe(r.failure)));
    } catch (RuntimeException | Error e) {
      log.warn("request {}: its answer cannot be built: {}", r.id, e.toString());
      r.future.completeExceptionally(e);
    }
  }

  /** Ends {@code r} with {@code finished} and completes its future with its answer as it stands. */
  private void finish(RequestState r, RequestStatus finished, String error) {
    r.status = finished;
    r.future.complete(result(r, error));
  }

  private static String describe(Throwable e) {
    return e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
  }

  private GenerationResult result(RequestState r, String error) {
    return Answers.of(r, r.status.finishReason(), error, r.request.limitsOr(limits),
        r.admittedStep < 0 ? 0 : steps - r.admittedStep);
  }

  /** The load of an engine at one moment. */
  public record EngineLoad(int queued, int running, int activeSpans, long kvTokens, int batchRows) {
  }
}
