package io.pastaserve.worker.model.ort;

import io.pastaserve.worker.kv.KvBlock;
import io.pastaserve.worker.model.ModelConfig;
import java.lang.foreign.MemorySegment;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A runner's {@link FixedShapePass}es, one per shape, each made on the first pass of its shape: on CUDA with CUDA
 * graphs, or without them when ONNX Runtime refuses (logged), or none (logged). A pass that fails is dropped and its
 * shape runs unfixed from then on. One thread (the runner's) uses it.
 */
final class FixedShapePasses implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(FixedShapePasses.class);
  /** Shapes with a pass of their own (each holds a copy of the weights); passes of other shapes run unfixed. */
  static final int MAX_SHAPES = 8;

  /** {@code seq} tokens in each of {@code slots} slots of {@code columns} columns. */
  record Shape(int slots, int seq, int columns) {
  }

  private final OrtApi api;
  private final MemorySegment env;
  private final Path model;
  private final SessionSettings settings;
  private final ModelConfig config;
  private final MemorySegment cpuInfo;
  private final MemorySegment cacheInfo;
  /** The cache's device memory on CUDA; null on the CPU. */
  private final CudaMemory device;
  private final Map<Shape, Optional<FixedShapePass>> passes = new HashMap<>();
  private long runs;

  FixedShapePasses(OrtApi api, MemorySegment env, Path model, SessionSettings settings, ModelConfig config,
      MemorySegment cpuInfo, MemorySegment cacheInfo, CudaMemory device) {
    this.api = api;
    this.env = env;
    this.model = model;
    this.settings = settings;
    this.config = config;
    this.cpuInfo = cpuInfo;
    this.cacheInfo = cacheInfo;
    this.device = device;
  }

  /**
   * A pass of {@code shape} over {@code cache} (see {@link FixedShapePass#run}); null when the shape has no pass or
   * the pass cannot bind the cache: the caller runs it unfixed. A pass that fails writes nothing.
   */
  FloatBuffer run(Shape shape, KvBlock cache, int positionsBack, MemorySegment ids, MemorySegment positions,
      MemorySegment seqlens) {
    FixedShapePass pass = pass(shape);
    if (pass == null) {
      return null;
    }
    try {
      FloatBuffer out = pass.run(cache, positionsBack, ids, positions, seqlens);
      if (out != null) {
        runs++;
      }
      return out;
    } catch (IllegalStateException e) {
      log.warn("the fixed-shape pass for {} failed; passes of that shape run unfixed from now on: {}", shape,
          e.getMessage());
      passes.put(shape, Optional.empty());
      pass.close();
      return null;
    }
  }

  /** Makes the pass of {@code shape} now, if it is not made yet (its first pass would). */
  void prepare(Shape shape) {
    pass(shape);
  }

  /** Whether the pass of {@code shape} is made (and has not failed). */
  boolean has(Shape shape) {
    return passes.getOrDefault(shape, Optional.empty()).isPresent();
  }

  /** The passes run fixed so far. */
  long runs() {
    return runs;
  }

  private FixedShapePass pass(Shape shape) {
    Optional<FixedShapePass> made = passes.get(shape);
    if (made != null) {
      return made.orElse(null);
    }
    if (passes.size() >= MAX_SHAPES) {
      return null;
    }
    long t0 = System.nanoTime();
    FixedShapePass pass = null;
    for (boolean graphs : device != null ? new boolean[] {true, false} : new boolean[] {false}) {
      try {
        pass = new FixedShapePass(api, env, model, settings, config, shape.slots(), shape.seq(), shape.columns(),
            cpuInfo, cacheInfo, device, graphs);
        break;
      } catch (OrtFailure e) {
        log.warn("no fixed-shape pass{} for {}: {}", graphs ? " with CUDA graphs" : "", shape, e.getMessage());
      }
    }
    passes.put(shape, Optional.ofNullable(pass));
    if (pass != null) {
      log.info("fixed-shape pass for {}{} ready in {} ms", shape, pass.capturesGraphs() ? ", as CUDA graphs" : "",
          (System.nanoTime() - t0) / 1_000_000);
    }
    return pass;
  }

  @Override
  public void close() {
    passes.values().forEach(p -> p.ifPresent(FixedShapePass::close));
    passes.clear();
  }
}
