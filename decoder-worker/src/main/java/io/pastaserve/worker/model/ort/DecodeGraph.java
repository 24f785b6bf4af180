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
import java.util.IdentityHashMap;
import java.util.Map;

/**
 * The decode step of a static-cache model with every shape fixed: one token in each of {@code slots} slots of
 * {@code columns} columns. It has a session of its own, opened with those sizes in place of the graph's symbolic
 * dimensions ({@code batch_size}, {@code sequence_length}, {@code max_cache_length}), so ONNX Runtime folds the
 * graph's shape arithmetic into constants instead of running it on the CPU every step. Its token inputs and logits
 * live in buffers of its own at fixed addresses (device memory on CUDA), bound once per cache block. On CUDA the
 * session captures each block's step as a CUDA graph (ONNX Runtime's {@code gpu_graph_id}, one per block) and
 * replays it: a step is three small copies in, one launch, and the logits back.
 *
 * <p>GroupQueryAttention's {@code total_sequence_length} is {@code columns} at every step. Fixed, it splits every
 * row's attention the same way whatever the other rows hold (the kernel picks its split from it), and a replayed
 * graph reads nothing from the host. The rows' own lengths come from {@code seqlens_k}, on the device.
 *
 * <p>A captured graph holds the addresses it was captured with, so a block is bound once and its graph id is never
 * reused: when {@link #MAX_BLOCKS} blocks are bound, the oldest binding is dropped and a new block gets a new id.
 * One thread (the runner's) calls {@link #step}.
 */
final class DecodeGraph implements AutoCloseable {

  /** Blocks bound at once: the slot cache decodes in two, alternately; the rest are older caches' or benches'. */
  static final int MAX_BLOCKS = 4;

  private final OrtApi api;
  private final MemorySegment session;
  private final ContractNames names;
  private final ModelConfig config;
  private final int slots;
  private final int columns;
  private final MemorySegment cacheInfo;
  private final MemorySegment cpuInfo;
  /** On CUDA: the copies in and out; null on the CPU. */
  private final CudaRuntime cuda;
  private final CudaMemory device;
  private final boolean graphs;
  private final Arena arena = Arena.ofShared();
  /** The bound inputs ({@code int64[slots]}, {@code int64[slots]}, {@code int32[slots]}) and logits. */
  private final MemorySegment ids;
  private final MemorySegment positions;
  private final MemorySegment seqlens;
  private final MemorySegment logits;
  /** Where the logits come back to: {@link #logits} itself on the CPU. */
  private final MemorySegment hostLogits;
  private final MemorySegment total;
  private final MemorySegment shape;
  private final MemorySegment valueOut;
  private final Map<KvBlock, Binding> bindings = new IdentityHashMap<>();
  private int nextGraphId = 1;
  private boolean closed;

  /** A block's binding: its run options carry its graph id; {@code address} is where the block was bound. */
  private record Binding(MemorySegment binding, MemorySegment runOptions, long address, int graphId) {
  }

  /**
   * Opens the fixed-shape session over {@code model}; on CUDA ({@code device} non-null) with CUDA graphs when
   * {@code graphs}.
   *
   * @throws OrtFailure when ONNX Runtime cannot make the session (for a CUDA graph: when a node of the step would
   *     not run on the GPU)
   */
  DecodeGraph(OrtApi api, MemorySegment env, Path model, SessionSettings settings, ModelConfig config, int slots,
      int columns, MemorySegment cpuInfo, MemorySegment cacheInfo, CudaMemory device, boolean graphs) {
    this.api = api;
    this.config = config;
    this.slots = slots;
    this.columns = columns;
    this.cpuInfo = cpuInfo;
    this.cacheInfo = cacheInfo;
    this.device = device;
    this.cuda = device == null ? null : device.runtime();
    this.graphs = device != null && graphs;
    this.session = settings.open(api, env, model, Map.of("batch_size", (long) slots, "sequence_length", 1L,
        "max_cache_length", (long) columns), this.graphs);
    this.names = new ContractNames(arena, config.layers());
    long logitBytes = (long) slots * config.vocabSize() * Float.BYTES;
    if (device != null) {
      try {
        ids = device.allocate(slots * 8L);
        positions = device.allocate(slots * 8L);
        seqlens = device.allocate(slots * 4L);
        logits = device.allocate(logitBytes);
      } catch (OutOfMemoryError e) {
        api.releaseSession(session);
        arena.close();
        throw e;
      }
      hostLogits = arena.allocate(logitBytes, 64);
    } else {
      ids = arena.allocate(JAVA_LONG, slots);
      positions = arena.allocate(JAVA_LONG, slots);
      seqlens = arena.allocate(JAVA_INT, slots);
      logits = arena.allocate(logitBytes, 64);
      hostLogits = logits;
    }
    total = arena.allocate(JAVA_INT);
    total.set(JAVA_INT, 0, columns);
    shape = arena.allocate(JAVA_LONG, 4);
    valueOut = arena.allocate(ADDRESS);
  }

  int slots() {
    return slots;
  }

  int columns() {
    return columns;
  }

  /** Whether steps are replayed CUDA graphs. */
  boolean capturesGraphs() {
    return graphs;
  }

  /**
   * One decode step over {@code cache} (its {@code slots} rows written in place): {@code hostIds},
   * {@code hostPositions} ({@code int64[slots]}) and {@code hostSeqlens} ({@code int32[slots]}) in host memory.
   * Returns the logits of the first {@code rows} rows, or null when {@code cache} cannot be bound (another shape, or
   * moved since it was bound): the caller runs the step the unfixed way.
   */
  FloatBuffer step(KvBlock cache, int rows, MemorySegment hostIds, MemorySegment hostPositions,
      MemorySegment hostSeqlens) {
    Binding b = binding(cache);
    if (b == null) {
      return null;
    }
    if (device != null) {
      device.awaitCopies();
      cuda.copyToDevice(ids, hostIds, slots * 8L);
      cuda.copyToDevice(positions, hostPositions, slots * 8L);
      cuda.copyToDevice(seqlens, hostSeqlens, slots * 4L);
      cuda.synchronize();
    } else {
      MemorySegment.copy(hostIds, 0, ids, 0, slots * 8L);
      MemorySegment.copy(hostPositions, 0, positions, 0, slots * 8L);
      MemorySegment.copy(hostSeqlens, 0, seqlens, 0, slots * 4L);
    }
    try {
      api.run(session, b.runOptions(), b.binding());
    } catch (OrtFailure e) {
      throw new IllegalStateException("decode step failed: " + e.getMessage(), e);
    }
    long bytes = (long) rows * config.vocabSize() * Float.BYTES;
    if (device != null) {
      cuda.copyToHost(hostLogits, logits, bytes);
      cuda.synchronize();
    }
    return hostLogits.asSlice(0, bytes).asByteBuffer().order(ByteOrder.nativeOrder()).asFloatBuffer();
  }

  /** {@code cache}'s binding, made on first use; null when it cannot have one. */
  private Binding binding(KvBlock cache) {
    long address = cache.segment(0, 0).address();
    Binding b = bindings.get(cache);
    if (b != null) {
      return b.address() == address ? b : null;
    }
    if (cache.rows() != slots || cache.columns() != columns) {
      return null;
    }
    if (bindings.size() >= MAX_BLOCKS) {
      KvBlock oldest = null;
      for (Map.Entry<KvBlock, Binding> e : bindings.entrySet()) {
        if (oldest == null || e.getValue().graphId() < bindings.get(oldest).graphId()) {
          oldest = e.getKey();
        }
      }
      release(bindings.remove(oldest));
    }
    b = bind(cache, address);
    bindings.put(cache, b);
    return b;
  }

  private Binding bind(KvBlock cache, long address) {
    MemorySegment binding = api.createIoBinding(session);
    MemorySegment runOptions = MemorySegment.NULL;
    try {
      int e = config.kvElementBytes();
      int cacheType = e == 2 ? OrtApi.FLOAT16 : OrtApi.FLOAT;
      MemorySegment inputs = device != null ? cacheInfo : cpuInfo;
      bind(binding, names.inputIds, true, inputs, ids, slots * 8L, OrtApi.INT64, slots, 1);
      bind(binding, names.positions, true, inputs, positions, slots * 8L, OrtApi.INT64, slots, 1);
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
      bind(binding, names.logits, false, inputs, logits, logits.byteSize(), OrtApi.FLOAT, slots, 1,
          config.vocabSize());
      runOptions = graphs ? api.createRunOptions("gpu_graph_id", Integer.toString(nextGraphId))
          : api.createRunOptions();
    } catch (OrtFailure e) {
      api.releaseIoBinding(binding);
      api.releaseRunOptions(runOptions);
      throw new IllegalStateException("cannot bind a decode step: " + e.getMessage(), e);
    }
    return new Binding(binding, runOptions, address, nextGraphId++);
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
    }
    api.releaseSession(session);
    arena.close();
  }
}
