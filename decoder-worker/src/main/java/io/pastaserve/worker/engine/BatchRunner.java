package io.pastaserve.worker.engine;

import io.pastaserve.worker.kv.KvCache;
import io.pastaserve.worker.kv.KvPass;
import io.pastaserve.worker.kv.KvSeq;
import io.pastaserve.worker.model.ModelConfig;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The decode batch and the forward passes of a step. <b>Decode</b>: every span in the batch feeds its one pending
 * token; <b>prefill</b>: spans with several tokens to feed run in one more pass, under a per-step token budget; after
 * each pass the {@link SpanProgram} acts on every span whose input is all fed. <b>Rebuild</b>, when the batch changes:
 * spans that leave it move their cache to storage of their own, and the next batch is gathered. The pass inputs
 * (ids, positions, attention mask) are built here; the cache tensors come from the {@link KvCache}.
 *
 * <p>Owned by the scheduler thread: it mutates the batch, the spans' pending input as it is fed, and (through the
 * cache) their cache handles. The forward pass seam is the only field another thread sets (tests).
 */
final class BatchRunner {

  private static final Logger log = LoggerFactory.getLogger(BatchRunner.class);

  private final ModelConfig model;
  private final int vocab;
  private final EngineConfig config;
  private final KvCache cache;
  private final SpanProgram program;
  /** The running requests (the step loop's list). */
  private final List<RequestState> running;
  /** The model's forward pass; tests wrap it to make a pass fail. */
  private volatile ForwardPass forward;
  private final FailureIsolation isolation = new FailureIsolation(this::probe, RequestState::fail);
  /** Spans in the decode batch, by row. */
  private List<SpanState> batch = new ArrayList<>();
  private long[] ids = new long[64];
  private long[] positions = new long[64];
  private long[] mask = new long[1024];

  BatchRunner(ModelConfig model, EngineConfig config, KvCache cache, SpanProgram program,
      List<RequestState> running, ForwardPass forward) {
    this.model = model;
    this.vocab = model.vocabSize();
    this.config = config;
    this.cache = cache;
    this.program = program;
    this.running = running;
    this.forward = forward;
  }

  void forwardPass(ForwardPass pass) {
    this.forward = pass;
  }

  /** Rows in the decode batch. */
  int size() {
    return batch.size();
  }

  /** Empties the batch (after a failure of the whole step). */
  void clear() {
    batch = new ArrayList<>();
    cache.clearBatch();
  }

  /** Phase A: every span in the batch feeds its one pending token, then chooses its next. */
  void decode() {
    if (batch.isEmpty()) {
      return;
    }
    int rows = batch.size();
    KvPass pass = cache.decodePass();
    int past = pass.pastColumns();
    int total = past + 1;
    ensureInputs(rows, rows * total);
    Arrays.fill(mask, 0, rows * total, 0L);
    for (int r = 0; r < rows; r++) {
      SpanState s = batch.get(r);
      ids[r] = s.pendingTokens.get(0);
      positions[r] = s.pendingPositions.get(0);
      Arrays.fill(mask, r * total + past - s.kv.length(), r * total + total, 1L);
    }
    FloatBuffer logits;
    try {
      logits = forward.run(rows, 1, ids, positions, mask, past, pass.past(), pass.present());
    } catch (RuntimeException | Error e) {
      // the batch is left as it was (its new cache went to the other block): it runs again without the culprit
      isolation.isolate(batch, Collections.nCopies(rows, 1), e);
      return;
    }
    List<SpanState> fed = batch;
    cache.decoded(seqs(fed));
    for (SpanState s : fed) {
      s.pendingTokens.removeFirst(1);
      s.pendingPositions.removeFirst(1);
    }
    for (int r = 0; r < rows; r++) {
      SpanState s = fed.get(r);
      int offset = r * vocab;
      s.request.guarded(() -> program.afterFeed(s, logits, offset));
    }
  }

  /** Phase B: spans with several tokens to feed run them, in chunks under the step's budget; returns the rows. */
  int prefill() {
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
    cache.prefilled(seqs(rows), chunks, pass.cache());
    for (int i = 0; i < n; i++) {
      SpanState s = rows.get(i);
      int chunk = chunks.get(i);
      s.pendingTokens.removeFirst(chunk);
      s.pendingPositions.removeFirst(chunk);
    }
    for (int i = 0; i < n; i++) {
      SpanState s = rows.get(i);
      int offset = (i * pass.seq() + chunks.get(i) - 1) * vocab;
      if (s.pendingTokens.isEmpty() && s.runnable()) {
        s.request.guarded(() -> program.afterFeed(s, pass.logits(), offset));
      }
    }
    return n;
  }

  /** A prefill pass's output: logits of {@code rows x seq} tokens, over the pass's cache. */
  private record Prefill(FloatBuffer logits, KvPass cache, int seq) {
  }

  /** Runs {@code rows}' pending input again, alone, output discarded: throws what the pass throws. */
  private void probe(List<SpanState> rows, List<Integer> chunks) {
    forwardPending(rows, chunks, false);
  }

  /**
   * Runs the first {@code chunks} pending tokens of each of {@code rows} on top of its cache (read in place when
   * {@code inPlace} and the cache allows it); the new cache goes to the prefill output. Changes no span.
   */
  private Prefill forwardPending(List<SpanState> rows, List<Integer> chunks, boolean inPlace) {
    int n = rows.size();
    KvPass pass = cache.prefillPass(seqs(rows), inPlace);
    int pastColumns = pass.pastColumns();
    int seq = chunks.stream().mapToInt(Integer::intValue).max().orElse(1);
    int total = pastColumns + seq;
    ensureInputs(n * seq, n * total);
    Arrays.fill(mask, 0, n * total, 0L);
    for (int i = 0; i < n; i++) {
      SpanState s = rows.get(i);
      int chunk = chunks.get(i);
      for (int j = 0; j < seq; j++) {
        boolean real = j < chunk;
        ids[i * seq + j] = real ? s.pendingTokens.get(j) : model.padTokenId();
        positions[i * seq + j] = real ? s.pendingPositions.get(j) : 0;
      }
      Arrays.fill(mask, i * total + pastColumns - s.kv.length(), i * total + pastColumns + chunk, 1L);
    }
    return new Prefill(forward.run(n, seq, ids, positions, mask, pastColumns, pass.past(), pass.present()), pass,
        seq);
  }

  /**
   * Phase C: the next batch is every runnable span with one token to feed, the current rows first. Whoever is left
   * out moves its cache to storage of its own; returns whether the batch changed.
   */
  boolean rebuild() {
    List<SpanState> next = new ArrayList<>();
    for (SpanState s : batch) {
      if (s.kv.inBatch() && s.runnable() && s.pendingTokens.size() == 1) {
        next.add(s);
      }
    }
    boolean changed = next.size() != batch.size();
    for (RequestState r : running) {
      for (SpanState s : r.spans) {
        if (next.size() >= config.maxBatch()) {
          break;
        }
        if (!s.kv.inBatch() && s.runnable() && s.pendingTokens.size() == 1) {
          next.add(s);
          changed = true;
        }
      }
    }
    // whoever is left out must own its cache before the transient blocks are reused
    for (RequestState r : running) {
      for (SpanState s : r.spans) {
        if (!next.contains(s) && cache.mustMove(s.kv)) {
          // a finished fork keeps only its own columns, which its parent's join takes
          boolean ownOnly = s.status == SpanState.Status.DONE && s.parent != null;
          r.guarded(() -> cache.moveToOwn(s.kv, r.id, s.id, ownOnly));
        }
      }
    }
    changed |= next.removeIf(s -> s.request.failure != null);
    while (changed) {
      try {
        cache.gatherBatch(seqs(next));
        break;
      } catch (RuntimeException | Error e) {
        if (next.isEmpty()) {
          // not a request's doing: no row is left to blame. The batch stays empty; the spans waiting for it
          // are gathered again at the next rebuild
          log.warn("an empty decode batch cannot be gathered ({}); the batch stays empty", e.toString());
          clear();
          batch = next;
          return true;
        }
        // the batch's rows cannot be gathered (no memory for the block, usually): the largest request fails
        isolation.failLargest(next, e);
        next.removeIf(s -> s.request.failure != null);
      }
    }
    if (changed) {
      cache.installBatch(seqs(next));
    }
    batch = next;
    return changed;
  }

  private static List<KvSeq> seqs(List<SpanState> spans) {
    List<KvSeq> out = new ArrayList<>(spans.size());
    for (SpanState s : spans) {
      out.add(s.kv);
    }
    return out;
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
}
