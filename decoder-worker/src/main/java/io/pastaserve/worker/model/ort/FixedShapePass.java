package io.pastaserve.worker.model.ort;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import io.pastaserve.worker.kv.KvBlock;
import io.pastaserve.worker.model.ModelConfig;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A pass of a static-cache model with every shape fixed: {@code seq} tokens in each of {@code slots} slots of
 * {@code columns} columns. A decode step is {@code slots x 1}; a chunk on one span's past (a fork's opener) is
 * {@code 1 x seq}. The pass has a session of its own, opened with those sizes in place of the graph's symbolic
 * dimensions ({@code batch_size}, {@code sequence_length}, {@code max_cache_length}), so ONNX Runtime folds the
 * graph's shape arithmetic into constants instead of running it on the CPU at every pass. Its token inputs and
 * logits live in buffers of its own at fixed addresses (device memory on CUDA), bound once per cache (by its
 * tensors' addresses). On CUDA the session captures the pass over each cache as a CUDA graph (ONNX Runtime's
 * {@code gpu_graph_id}, one per cache) and replays it: a pass is three small copies in, one launch, and the logits
 * back.
 *
 * <p>GroupQueryAttention's {@code total_sequence_length} is {@code columns} at every pass. Fixed, it splits every
 * row's attention the same way whatever the other rows hold (the kernel picks its split from it), and a replayed
 * graph reads nothing from the host. The rows' own lengths come from {@code seqlens_k}, on the device.
 *
 * <p>A captured graph holds the addresses it was captured with, so a cache's binding is made once and kept while it is
 * among the {@link #MAX_BINDINGS} most recently used (a later block at the same addresses is the same memory, of the
 * same shape: the graph still fits it); a binding made again is a new graph. Each session holds its own copy of the
 * weights. One thread (the runner's) calls {@link #run}.
 */
final class FixedShapePass implements AutoCloseable {

  /**
   * Caches one pass keeps bound (the least recently used binding goes first): a decode step binds the slot cache's
   * two batch blocks and its prefill block; a chunk binds the prefill block's slots that forks' openers run in.
   */
  static final int MAX_BINDINGS = 64;
  /**
   * CUDA graphs one pass captures: ONNX Runtime keeps each until the session closes, so a binding dropped and made
   * again costs a new one. Past this many, caches without a binding run unfixed.
   */
  static final int MAX_GRAPHS = 512;

  private final OrtApi api;
  private final MemorySegment session;
  private final ContractNames names;
  private final ModelConfig config;
  private final int slots;
  private final int seq;
  private final int columns;
  private final MemorySegment cacheInfo;
  private final MemorySegment cpuInfo;
  /** On CUDA: the copies in and out; null on the CPU. */
  private final CudaRuntime cuda;
  private final CudaMemory device;
  private final boolean graphs;
  private final Arena arena = Arena.ofShared();
  /** The bound inputs ({@code int64[slots*seq]}, {@code int64[slots*seq]}, {@code int32[slots]}) and logits. */
  private final MemorySegment ids;
  private final MemorySegment positions;
  private final MemorySegment seqlens;
  private final MemorySegment logits;
  /** Where the logits come back to (page-locked on CUDA): {@link #logits} itself on the CPU. */
  private final MemorySegment hostLogits;
  private final MemorySegment total;
  private final MemorySegment shape;
  private final MemorySegment valueOut;
  /** By the addresses of the cache's tensors, least recently used first. */
  private final Map<List<Long>, Binding> bindings = new LinkedHashMap<>(16, 0.75f, true);
  private int graphsCaptured;
  private boolean closed;

  /** A cache's binding; its run options carry its graph id. */
  private record Binding(MemorySegment binding, MemorySegment runOptions) {
  }

  /**
   * Opens the fixed-shape session over {@code model}; on CUDA ({@code device} non-null) with CUDA graphs when
   * {@code graphs}.
   *
   * @throws OrtFailure when ONNX Runtime cannot make the session (for a CUDA graph: when a node of the pass would
   *     not run on the GPU)
   */
  FixedShapePass(OrtApi api, MemorySegment env, Path model, SessionSettings settings, ModelConfig config, int slots,
      int seq, int columns, MemorySegment cpuInfo, MemorySegment cacheInfo, CudaMemory device, boolean graphs) {
    this.api = api;
    this.config = config;
    this.slots = slots;
    this.seq = seq;
    this.columns = columns;
    this.cpuInfo = cpuInfo;
    this.cacheInfo = cacheInfo;
    this.device = device;
    this.cuda = device == null ? null : device.runtime();
    this.graphs = device != null && graphs;
    try {
      this.session = settings.open(api, env, model, Map.of("batch_size", (long) slots, "sequence_length",
          (long) seq, "max_cache_length", (long) columns), this.graphs);
    } catch (OrtFailure e) {
      arena.close();
      throw e;
    }
    this.names = new ContractNames(arena, config.layers());
    int tokens = slots * seq;
    long logitBytes = (long) tokens * config.vocabSize() * Float.BYTES;
    if (device != null) {
      try {
        ids = device.allocate(tokens * 8L);
        positions = device.allocate(tokens * 8L);
        seqlens = device.allocate(slots * 4L);
        logits = device.allocate(logitBytes);
      } catch (OutOfMemoryError e) {
        api.releaseSession(session);
        arena.close();
        throw e;
      }
      hostLogits = cuda.allocateHost(logitBytes);
    } else {
      ids = arena.allocate(JAVA_LONG, tokens);
      positions = arena.allocate(JAVA_LONG, tokens);
      seqlens = arena.allocate(JAVA_INT, slots);
      logits = arena.allocate(logitBytes, 64);
      hostLogits = logits;
    }
    total = arena.allocate(JAVA_INT);
    total.set(JAVA_INT, 0, columns);
    shape = arena.allocate(JAVA_LONG, 4);
    valueOut = arena.allocate(ADDRESS);
  }

  /** Whether passes are replayed CUDA graphs. */
  boolean capturesGraphs() {
    return graphs;
  }

  /**
   * One pass over {@code cache} ({@code slots} rows of {@code columns} columns, written in place): {@code hostIds},
   * {@code hostPositions} ({@code int64[slots*seq]}) and {@code hostSeqlens} ({@code int32[slots]}) in host memory.
   * Returns the logits of the first {@code positionsBack} positions (rows times {@code seq}, row by row), or null
   * when {@code cache} has another shape or no binding can be made for it: the caller runs the pass unfixed.
   */
  FloatBuffer run(KvBlock cache, int positionsBack, MemorySegment hostIds, MemorySegment hostPositions,
      MemorySegment hostSeqlens) {
    Binding b = binding(cache);
    if (b == null) {
      return null;
    }
    long tokenBytes = (long) slots * seq * 8;
    if (device != null) {
      // in order with the cache's pending copies, on one stream: one wait for all of them
      device.copyToDevice(ids, hostIds, tokenBytes);
      device.copyToDevice(positions, hostPositions, tokenBytes);
      device.copyToDevice(seqlens, hostSeqlens, slots * 4L);
      device.awaitCopies();
    } else {
      MemorySegment.copy(hostIds, 0, ids, 0, tokenBytes);
      MemorySegment.copy(hostPositions, 0, positions, 0, tokenBytes);
      MemorySegment.copy(hostSeqlens, 0, seqlens, 0, slots * 4L);
    }
    try {
      api.run(session, b.runOptions(), b.binding());
    } catch (OrtFailure e) {
      throw new IllegalStateException("fixed-shape pass failed: " + e.getMessage(), e);
    }
    long bytes = (long) positionsBack * config.vocabSize() * Float.BYTES;
    if (device != null) {
      cuda.copyToHost(hostLogits, logits, bytes);
      cuda.synchronize();
    }
    return hostLogits.asSlice(0, bytes).asByteBuffer().order(ByteOrder.nativeOrder()).asFloatBuffer();
  }

  /** {@code cache}'s binding, made on first use; null when it cannot have one. */
  private Binding binding(KvBlock cache) {
    if (cache.rows() != slots || cache.columns() != columns) {
      return null;
    }
    Long[] at = new Long[names.cacheTensors()];
    for (int i = 0; i < at.length; i++) {
      at[i] = cache.segment(i / 2, i % 2).address();
    }
    List<Long> addresses = List.of(at);
    Binding b = bindings.get(addresses);
    if (b != null || (graphs && graphsCaptured >= MAX_GRAPHS)) {
      return b;
    }
    if (bindings.size() >= MAX_BINDINGS) {
      Iterator<Binding> eldest = bindings.values().iterator();
      release(eldest.next());
      eldest.remove();
    }
    b = bind(cache, ++graphsCaptured);
    bindings.put(addresses, b);
    return b;
  }

  private Binding bind(KvBlock cache, int graphId) {
    MemorySegment binding = api.createIoBinding(session);
    MemorySegment runOptions = MemorySegment.NULL;
    try {
      int e = config.kvElementBytes();
      int cacheType = e == 2 ? OrtApi.FLOAT16 : OrtApi.FLOAT;
      MemorySegment inputs = device != null ? cacheInfo : cpuInfo;
      long tokenBytes = (long) slots * seq * 8;
      bind(binding, names.inputIds, true, inputs, ids, tokenBytes, OrtApi.INT64, slots, seq);
      bind(binding, names.positions, true, inputs, positions, tokenBytes, OrtApi.INT64, slots, seq);
      bind(binding, names.seqlens, true, inputs, seqlens, slots * 4L, OrtApi.INT32, slots);
      bind(binding, names.total, true, cpuInfo, total, 4L, OrtApi.INT32);
      for (int i = 0; i < names.cacheTensors(); i++) {
        MemorySegment data = cache.segment(i / 2, i % 2);
        long bytes = (long) cache.size() * e;
        bind(binding, names.past(i), true, cacheInfo, data, bytes, cacheType, slots, config.kvHeads(), columns,
            config.headDim());
        bind(binding, names.present(i), false, cacheInfo, data, bytes, cacheType, slots, config.kvHeads(), columns,
            config.headDim());
      }
      bind(binding, names.logits, false, inputs, logits, logits.byteSize(), OrtApi.FLOAT, slots, seq,
          config.vocabSize());
      runOptions = graphs ? api.createRunOptions("gpu_graph_id", Integer.toString(graphId)) : api.createRunOptions();
    } catch (OrtFailure e) {
      api.releaseIoBinding(binding);
      api.releaseRunOptions(runOptions);
      throw new IllegalStateException("cannot bind a fixed-shape pass: " + e.getMessage(), e);
    }
    return new Binding(binding, runOptions);
  }

  /** Binds a tensor over {@code data}; the binding keeps it, so the value made for it is released at once. */
  private void bind(MemorySegment binding, MemorySegment name, boolean input, MemorySegment info, MemorySegment data,
      long bytes, int type, long... dims) {
    for (int i = 0; i < dims.length; i++) {
      shape.setAtIndex(JAVA_LONG, i, dims[i]);
    }
    MemorySegment v = api.tensor(info, data, bytes, shape, dims.length, type, valueOut);
    try {
      if (input) {
        api.bindInput(binding, name, v);
      } else {
        api.bindOutput(binding, name, v);
      }
    } finally {
      api.releaseValue(v);
    }
  }

  private void release(Binding b) {
    api.releaseIoBinding(b.binding());
    api.releaseRunOptions(b.runOptions());
  }

  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    bindings.values().forEach(this::release);
    bindings.clear();
    if (device != null) {
      for (MemorySegment s : new MemorySegment[] {ids, positions, seqlens, logits}) {
        device.free(s);
      }
      cuda.freeHost(hostLogits);
    }
    api.releaseSession(session);
    arena.close();
  }
}
