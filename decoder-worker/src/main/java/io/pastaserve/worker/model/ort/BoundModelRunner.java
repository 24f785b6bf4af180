package io.pastaserve.worker.model.ort;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import io.pastaserve.worker.kv.HostMemory;
import io.pastaserve.worker.kv.KvBlock;
import io.pastaserve.worker.kv.KvMemory;
import io.pastaserve.worker.model.ExecutionProvider;
import io.pastaserve.worker.model.ModelConfig;
import io.pastaserve.worker.model.ModelContractException;
import io.pastaserve.worker.model.ModelRunner;
import io.pastaserve.worker.model.OrtShutdownHook;
import io.pastaserve.worker.model.Tokenizer;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs forward passes with ONNX Runtime's I/O binding, the cache bound where it lives. On CUDA the cache is in device
 * memory ({@link CudaMemory}): a pass reads its past and writes its present there, and only the token inputs go to
 * the device and only the logits come back. On the CPU the cache is in host memory, bound the same way. A pass's
 * tensors are values over that memory, made per pass (their shapes change each step) and released after it.
 *
 * <p>The model is immutable; a runner's buffers are not: one thread calls {@link #forward}.
 */
public final class BoundModelRunner implements ModelRunner {

  private static final Logger log = LoggerFactory.getLogger(BoundModelRunner.class);
  /** A diagnostic: with {@code -Dpasta.ort.profile=PREFIX}, ONNX Runtime traces every node of every pass. */
  public static final String PROFILE_PROPERTY = "pasta.ort.profile";
  /**
   * A diagnostic: {@code -Dpasta.ort.fixed-shapes=false} runs a static-cache model's decode steps and forks' openers
   * like its other passes, without {@link FixedShapePass}es (default true).
   */
  public static final String FIXED_SHAPES_PROPERTY = "pasta.ort.fixed-shapes";
  /** A chunk of up to this many tokens on one slot (a fork's opener) runs as a fixed-shape pass of this many. */
  static final int CHUNK_TOKENS = 16;

  private final OrtApi api;
  private final ModelConfig config;
  private final Tokenizer tokenizer;
  private final Path dir;
  private final String provider;
  private final SessionSettings settings;
  private final Arena arena = Arena.ofShared();
  private final MemorySegment env;
  private final MemorySegment session;
  private final MemorySegment binding;
  private final MemorySegment cpuInfo;
  /** Where the cache lives: {@link #cpuInfo} on the CPU. */
  private final MemorySegment cacheInfo;
  private final MemorySegment allocator;
  private final KvMemory memory;
  private final int cacheType;
  private final ContractNames names;
  /** Scratch: a shape ({@code int64_t[4]}) and an {@code OrtValue*} out-parameter. */
  private final MemorySegment shape;
  private final MemorySegment valueOut;
  private MemorySegment ids;
  private MemorySegment positions;
  private MemorySegment mask;
  private MemorySegment logits;
  /** The logits of a chunk run one row at a time, gathered. */
  private MemorySegment chunkLogits;
  /** Static-cache models: {@code seqlens_k} ({@code int32[slots]}) and {@code total_sequence_length}. */
  private MemorySegment seqlens;
  private final MemorySegment totalLength;
  private final List<MemorySegment> values = new ArrayList<>();
  /** Static-cache models: fixed-shape passes for decode steps and forks' openers; null when not used. */
  private final FixedShapePasses fixed;
  private boolean checking;
  private boolean closed;

  private BoundModelRunner(OrtApi api, ModelConfig config, Tokenizer tokenizer, Path dir, SessionSettings settings,
      boolean fixedShapes) {
    this.api = api;
    this.config = config;
    this.tokenizer = tokenizer;
    this.dir = dir;
    this.settings = settings;
    this.provider = settings.cuda() ? "cuda" : "cpu";
    this.cacheType = config.kvElementBytes() == 2 ? OrtApi.FLOAT16 : OrtApi.FLOAT;
    MemorySegment createdEnv = MemorySegment.NULL;
    MemorySegment createdSession = MemorySegment.NULL;
    try {
      createdEnv = api.createEnv(arena);
      createdSession = settings.open(api, createdEnv, dir.resolve("model.onnx"), Map.of(), false);
      this.cpuInfo = api.cpuMemoryInfo();
      if (settings.cuda()) {
        this.cacheInfo = api.cudaMemoryInfo(0);
        this.allocator = api.createAllocator(createdSession, cacheInfo);
        this.memory = new CudaMemory(api, allocator, CudaRuntime.load());
      } else {
        this.cacheInfo = cpuInfo;
        this.allocator = MemorySegment.NULL;
        this.memory = HostMemory.INSTANCE;
      }
      this.binding = api.createIoBinding(createdSession);
    } catch (RuntimeException | Error e) {
      api.releaseSession(createdSession);
      api.releaseEnv(createdEnv);
      arena.close();
      throw e;
    }
    this.env = createdEnv;
    this.session = createdSession;
    this.names = new ContractNames(arena, config.layers());
    this.shape = arena.allocate(JAVA_LONG, 4);
    this.valueOut = arena.allocate(ADDRESS);
    this.ids = arena.allocate(JAVA_LONG, 256);
    this.positions = arena.allocate(JAVA_LONG, 256);
    this.mask = arena.allocate(JAVA_LONG, 4096);
    this.logits = arena.allocate(JAVA_FLOAT, 1 << 16);
    this.chunkLogits = arena.allocate(JAVA_FLOAT, 1 << 16);
    this.seqlens = arena.allocate(JAVA_INT, 64);
    this.totalLength = arena.allocate(JAVA_INT);
    this.fixed = fixedShapes && config.staticCache() ? new FixedShapePasses(api, env, dir.resolve("model.onnx"),
        settings, config, cpuInfo, cacheInfo, memory instanceof CudaMemory c ? c : null) : null;
  }

  /**
   * Opens the model in {@code dir} on {@code device} ({@code auto}: CUDA when its provider loads, else the CPU).
   *
   * @throws ModelContractException when the directory does not meet the model contract, or CUDA was asked for and
   *     cannot run
   */
  public static BoundModelRunner open(Path dir, ExecutionProvider device, int intraOpThreads, boolean spinWait) {
    return open(dir, device, intraOpThreads, spinWait,
        Boolean.parseBoolean(System.getProperty(FIXED_SHAPES_PROPERTY, "true")));
  }

  /**
   * As {@link #open(Path, ExecutionProvider, int, boolean)}; with {@code fixedShapes} false, a static-cache model's
   * decode steps and forks' openers run like its other passes, with no {@link FixedShapePass}.
   */
  public static BoundModelRunner open(Path dir, ExecutionProvider device, int intraOpThreads, boolean spinWait,
      boolean fixedShapes) {
    if (!Files.isRegularFile(dir.resolve("model.onnx"))) {
      throw new ModelContractException(Files.isDirectory(dir) ? "model directory " + dir + " has no model.onnx"
          : "model directory " + dir + " does not exist");
    }
    ModelConfig config = ModelConfig.load(dir);
    Tokenizer tokenizer = Tokenizer.load(dir, config.vocabSize());
    OrtApi api;
    try {
      api = OrtApi.get();
    } catch (OrtFailure e) {
      tokenizer.close();
      throw new ModelContractException("ONNX Runtime's C API is unavailable: " + e.getMessage(), e);
    }
    OrtShutdownHook.remove();
    BoundModelRunner runner = null;
    if (device != ExecutionProvider.CPU) {
      try {
        runner = new BoundModelRunner(api, config, tokenizer, dir,
            new SessionSettings(true, intraOpThreads, spinWait), fixedShapes);
      } catch (OrtFailure | UnsatisfiedLinkError e) {
        if (device == ExecutionProvider.CUDA) {
          tokenizer.close();
          throw new ModelContractException("CUDA was asked for and cannot run " + dir + ": " + e.getMessage(), e);
        }
        log.info("CUDA cannot run the model ({}); running on the CPU", e.getMessage());
      }
    }
    if (runner == null) {
      try {
        runner = new BoundModelRunner(api, config, tokenizer, dir,
            new SessionSettings(false, intraOpThreads, spinWait), fixedShapes);
      } catch (OrtFailure e) {
        tokenizer.close();
        throw new ModelContractException("ONNX Runtime cannot load " + dir.resolve("model.onnx") + ": "
            + e.getMessage(), e);
      }
    }
    runner.checkContract();
    log.info("loaded model {} on {} with I/O binding ({} layers, {} kv heads x {} {}, vocab {})", dir,
        runner.provider, config.layers(), config.kvHeads(), config.headDim(), config.kvDtype(), config.vocabSize());
    return runner;
  }

  @Override
  public ModelConfig config() {
    return config;
  }

  @Override
  public Tokenizer tokenizer() {
    return tokenizer;
  }

  @Override
  public Path dir() {
    return dir;
  }

  @Override
  public String device() {
    return provider;
  }

  @Override
  public KvBlock newKvBlock() {
    return new KvBlock(config.layers(), config.kvHeads(), config.headDim(), config.kvElementBytes(), memory);
  }

  @Override
  public FloatBuffer forward(int rows, int seq, long[] inputIds, long[] positionIds, long[] attentionMask,
      int pastColumns, KvBlock past, KvBlock present) {
    if (config.staticCache()) {
      return forwardInPlace(rows, seq, inputIds, positionIds, attentionMask, pastColumns, past, present);
    }
    if (pastColumns != past.columns()) {
      throw new IllegalArgumentException("the past has " + past.columns() + " columns, not " + pastColumns);
    }
    if (past == present) {
      throw new IllegalArgumentException("past and present must be different blocks");
    }
    int total = past.columns() + seq;
    if (past.rows() != rows || inputIds.length < rows * seq || attentionMask.length < rows * total) {
      throw new IllegalArgumentException("inconsistent forward shapes");
    }
    present.reshape(rows, total);
    int tokens = rows * seq;
    ids = fill(ids, inputIds, tokens);
    positions = fill(positions, positionIds, tokens);
    mask = fill(mask, attentionMask, rows * total);
    return pass(rows, seq, rows, () -> {
      api.bindInput(binding, names.inputIds, value(cpuInfo, ids, tokens * 8L, OrtApi.INT64, rows, seq));
      api.bindInput(binding, names.mask, value(cpuInfo, mask, rows * total * 8L, OrtApi.INT64, rows, total));
      api.bindInput(binding, names.positions, value(cpuInfo, positions, tokens * 8L, OrtApi.INT64, rows, seq));
      int e = config.kvElementBytes();
      for (int i = 0; i < names.cacheTensors(); i++) {
        int l = i / 2;
        int kv = i % 2;
        api.bindInput(binding, names.past(i), value(cacheInfo, past.segment(l, kv), (long) past.size() * e,
            cacheType, rows, config.kvHeads(), past.columns(), config.headDim()));
        api.bindOutput(binding, names.present(i), value(cacheInfo, present.segment(l, kv),
            (long) present.size() * e, cacheType, rows, config.kvHeads(), total, config.headDim()));
      }
    });
  }

  /**
   * A pass of a static-cache model: every slot of {@code cache} runs (the ones past {@code rows} on pad tokens),
   * each row's new keys and values are written in place after its past, and the shapes are the block's, whatever
   * the rows: row {@code r}'s past is the number of ones in its mask's first {@code pastColumns} entries.
   */
  private FloatBuffer forwardInPlace(int rows, int seq, long[] inputIds, long[] positionIds, long[] attentionMask,
      int pastColumns, KvBlock cache, KvBlock present) {
    if (present != cache) {
      throw new IllegalArgumentException("a static-cache model writes its present into its past");
    }
    int slots = cache.rows();
    int columns = cache.columns();
    if (rows > slots || inputIds.length < rows * seq) {
      throw new IllegalArgumentException("inconsistent forward shapes");
    }
    if (seq > 1 && slots > 1 && hasPast(rows, seq, attentionMask, pastColumns)) {
      return chunksOneRowAtATime(rows, seq, inputIds, positionIds, attentionMask, pastColumns, cache);
    }
    int[] lengths = new int[slots];
    int width = pastColumns + seq;
    int total = seq;
    for (int r = 0; r < rows; r++) {
      for (int c = 0; c < pastColumns; c++) {
        lengths[r] += (int) attentionMask[r * width + c];
      }
      if (lengths[r] + seq > columns) {
        throw new IllegalArgumentException("a row of " + (lengths[r] + seq) + " tokens in slots of " + columns);
      }
      total = Math.max(total, lengths[r] + seq);
    }
    if (fixed != null && !checking) {
      // a decode step as it is; a chunk on one slot (a fork's opener) padded to CHUNK_TOKENS
      int fixedSeq = seq == 1 ? 1
          : slots == 1 && seq <= CHUNK_TOKENS && lengths[0] + CHUNK_TOKENS <= columns ? CHUNK_TOKENS : 0;
      if (fixedSeq > 0) {
        stage(rows, seq, slots, fixedSeq, inputIds, positionIds, lengths);
        // the logits of the rows' tokens: a decode step's rows, or the chunk's tokens without its padding
        FloatBuffer out = fixed.run(new FixedShapePasses.Shape(slots, fixedSeq, columns), cache, rows * seq, ids,
            positions, seqlens);
        if (out != null) {
          return out;
        }
      }
    }
    stage(rows, seq, slots, seq, inputIds, positionIds, lengths);
    int tokens = slots * seq;
    totalLength.set(JAVA_INT, 0, total);
    return pass(slots, seq, rows, () -> {
      api.bindInput(binding, names.inputIds, value(cpuInfo, ids, tokens * 8L, OrtApi.INT64, slots, seq));
      api.bindInput(binding, names.positions, value(cpuInfo, positions, tokens * 8L, OrtApi.INT64, slots, seq));
      api.bindInput(binding, names.seqlens, value(cpuInfo, seqlens, slots * 4L, OrtApi.INT32, slots));
      api.bindInput(binding, names.total, value(cpuInfo, totalLength, 4L, OrtApi.INT32));
      int e = config.kvElementBytes();
      for (int i = 0; i < names.cacheTensors(); i++) {
        MemorySegment v = value(cacheInfo, cache.segment(i / 2, i % 2), (long) cache.size() * e, cacheType, slots,
            config.kvHeads(), columns, config.headDim());
        api.bindInput(binding, names.past(i), v);
        api.bindOutput(binding, names.present(i), v);
      }
    });
  }

  /**
   * The token inputs of a static-cache pass of {@code slots x passSeq} tokens: the rows' {@code seq} tokens each,
   * then pad tokens at position 0 (to {@code passSeq} in a row, in the slots past {@code rows}); each slot's
   * {@code seqlens_k}, its past plus the pass's tokens minus one. {@code passSeq} is {@code seq}, or more for one row.
   */
  private void stage(int rows, int seq, int slots, int passSeq, long[] inputIds, long[] positionIds, int[] lengths) {
    int tokens = slots * passSeq;
    ids = fill(ids, inputIds, rows * seq, tokens, config.padTokenId());
    positions = fill(positions, positionIds, rows * seq, tokens, 0);
    if (seqlens.byteSize() < slots * 4L) {
      seqlens = arena.allocate(JAVA_INT, slots);
    }
    for (int r = 0; r < slots; r++) {
      seqlens.setAtIndex(JAVA_INT, r, lengths[r] + passSeq - 1);
    }
  }

  /** Opens the fixed-shape sessions of the decode step and of forks' openers over {@code slots x columns}. */
  @Override
  public void prepareSlots(int slots, int columns) {
    if (fixed != null) {
      fixed.prepare(new FixedShapePasses.Shape(slots, 1, columns));
      fixed.prepare(new FixedShapePasses.Shape(1, CHUNK_TOKENS, columns));
    }
  }

  /** Whether the fixed-shape pass of {@code slots x seq} tokens over {@code columns} columns is made. */
  boolean hasFixedShape(int slots, int seq, int columns) {
    return fixed != null && fixed.has(new FixedShapePasses.Shape(slots, seq, columns));
  }

  /** The passes run as fixed-shape passes so far. */
  long fixedShapePassesRun() {
    return fixed == null ? 0 : fixed.runs();
  }

  /**
   * Runs one pass of {@code batch x seq} tokens once device copies are done: {@code bind} binds its inputs and cache,
   * the logits are bound here (host memory), and every value the pass made is released after it. Returns the logits
   * of the first {@code rows} rows.
   */
  private FloatBuffer pass(int batch, int seq, int rows, Runnable bind) {
    long logitCount = (long) batch * seq * config.vocabSize();
    if (logits.byteSize() < logitCount * Float.BYTES) {
      logits = arena.allocate(JAVA_FLOAT, Math.max(logitCount, logits.byteSize() / Float.BYTES * 2));
    }
    if (memory instanceof CudaMemory cuda) {
      cuda.awaitCopies();
    }
    try {
      bind.run();
      api.bindOutput(binding, names.logits, value(cpuInfo, logits, logitCount * Float.BYTES, OrtApi.FLOAT, batch, seq,
          config.vocabSize()));
      api.run(session, binding);
    } catch (OrtFailure e) {
      throw new IllegalStateException("forward pass failed: " + e.getMessage(), e);
    } finally {
      for (MemorySegment v : values) {
        api.releaseValue(v);
      }
      values.clear();
    }
    return logits.asSlice(0, (long) rows * seq * config.vocabSize() * Float.BYTES).asByteBuffer()
        .order(ByteOrder.nativeOrder()).asFloatBuffer();
  }

  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    if (fixed != null) {
      fixed.close();
    }
    if (memory instanceof CudaMemory cuda) {
      cuda.close();
    }
    api.releaseIoBinding(binding);
    api.releaseAllocator(allocator);
    if (cacheInfo != cpuInfo) {
      api.releaseMemoryInfo(cacheInfo);
    }
    api.releaseMemoryInfo(cpuInfo);
    api.releaseSession(session);
    api.releaseEnv(env);
    tokenizer.close();
    arena.close();
  }

  /** Whether a row of the pass has a past (its mask has a one among the first {@code pastColumns}). */
  private static boolean hasPast(int rows, int seq, long[] mask, int pastColumns) {
    for (int r = 0; r < rows; r++) {
      for (int c = 0; c < pastColumns; c++) {
        if (mask[r * (pastColumns + seq) + c] != 0) {
          return true;
        }
      }
    }
    return false;
  }

  /**
   * Several tokens on a past, for several rows: ONNX Runtime's GroupQueryAttention takes those one row at a time
   * (a batch of one slot: the row's own, in place), so the pass is run per row.
   */
  private FloatBuffer chunksOneRowAtATime(int rows, int seq, long[] inputIds, long[] positionIds,
      long[] attentionMask, int pastColumns, KvBlock cache) {
    int vocab = config.vocabSize();
    if (chunkLogits.byteSize() < (long) rows * seq * vocab * Float.BYTES) {
      chunkLogits = arena.allocate(JAVA_FLOAT, (long) rows * seq * vocab);
    }
    FloatBuffer out = chunkLogits.asSlice(0, (long) rows * seq * vocab * Float.BYTES).asByteBuffer()
        .order(ByteOrder.nativeOrder()).asFloatBuffer();
    int width = pastColumns + seq;
    for (int r = 0; r < rows; r++) {
      KvBlock slot = KvBlock.rowOf(cache, r);
      long[] ids = java.util.Arrays.copyOfRange(inputIds, r * seq, (r + 1) * seq);
      long[] pos = java.util.Arrays.copyOfRange(positionIds, r * seq, (r + 1) * seq);
      long[] mask = java.util.Arrays.copyOfRange(attentionMask, r * width, (r + 1) * width);
      out.put(r * seq * vocab, forwardInPlace(1, seq, ids, pos, mask, pastColumns, slot, slot), 0, seq * vocab);
    }
    return out;
  }

  /** Runs one token on an empty cache: the names, types and shapes of the contract, or a clear error. */
  private void checkContract() {
    KvBlock past = newKvBlock();
    KvBlock present = config.staticCache() ? past : newKvBlock();
    past.reshape(1, config.staticCache() ? 8 : 0);
    checking = true;
    try {
      forward(1, 1, new long[] {config.eosTokenId()}, new long[] {0}, new long[] {1}, 0, past, present);
    } catch (IllegalStateException e) {
      close();
      throw new ModelContractException("model.onnx in " + dir + " does not run as the model contract says "
          + "(docs/model-contract.md) with " + config.layers() + " layers, " + config.kvHeads() + " kv heads x "
          + config.headDim() + " " + config.kvDtype() + ": " + e.getMessage(), e);
    } finally {
      checking = false;
    }
  }

  /** A value over {@code bytes} bytes at {@code data} with shape {@code dims}; released after the pass. */
  private MemorySegment value(MemorySegment info, MemorySegment data, long bytes, int type, long... dims) {
    for (int i = 0; i < dims.length; i++) {
      shape.setAtIndex(JAVA_LONG, i, dims[i]);
    }
    MemorySegment v = api.tensor(info, data, bytes, shape, dims.length, type, valueOut);
    values.add(v);
    return v;
  }

  private MemorySegment fill(MemorySegment buffer, long[] source, int count) {
    return fill(buffer, source, count, count, 0);
  }

  /**
   * {@code count} values of {@code source}, then {@code pad} up to {@code total}, in {@code buffer} or a larger one.
   */
  private MemorySegment fill(MemorySegment buffer, long[] source, int count, int total, long pad) {
    MemorySegment b = buffer.byteSize() >= total * 8L ? buffer
        : arena.allocate(JAVA_LONG, Math.max(total, buffer.byteSize() / 8 * 2));
    MemorySegment.copy(source, 0, b, JAVA_LONG, 0, count);
    b.asSlice(count * 8L, (total - count) * 8L).fill((byte) 0);
    for (int i = count; i < total && pad != 0; i++) {
      b.setAtIndex(JAVA_LONG, i, pad);
    }
    return b;
  }
}
