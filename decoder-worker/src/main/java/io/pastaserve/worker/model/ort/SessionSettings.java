package io.pastaserve.worker.model.ort;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.Map;

/**
 * How a runner's ONNX Runtime sessions are made: on CUDA or the CPU, with how many threads, spinning or not. Every
 * session of a runner is made the same way; a {@link FixedShapePass}'s also fixes the graph's symbolic dimensions and,
 * on CUDA, asks for a CUDA graph.
 *
 * @param cuda the CUDA execution provider (device 0), else the CPU
 * @param intraOpThreads threads per operator (0: ONNX Runtime's default)
 * @param spinWait whether idle operator threads spin between passes
 */
record SessionSettings(boolean cuda, int intraOpThreads, boolean spinWait) {

  private static final int ORT_ENABLE_ALL = 99;
  private static final int ORT_SEQUENTIAL = 0;

  /**
   * A session over {@code model}, its symbolic dimensions {@code fixed} at the given sizes; on CUDA with
   * {@code cudaGraph}, one that captures its runs as CUDA graphs.
   *
   * @throws OrtFailure when ONNX Runtime refuses the options or the model
   */
  MemorySegment open(OrtApi api, MemorySegment env, Path model, Map<String, Long> fixed, boolean cudaGraph) {
    MemorySegment options;
    try (Arena a = Arena.ofConfined()) {
      options = api.createSessionOptions(a);
    }
    try {
      api.setOptimizationLevel(options, ORT_ENABLE_ALL);
      api.setExecutionMode(options, ORT_SEQUENTIAL);
      api.setThreads(options, Math.max(0, intraOpThreads), 1);
      api.addConfigEntry(options, "session.intra_op.allow_spinning", spinWait ? "1" : "0");
      fixed.forEach((name, size) -> api.fixDimension(options, name, size));
      String profile = System.getProperty(BoundModelRunner.PROFILE_PROPERTY, "");
      if (!profile.isBlank()) {
        api.enableProfiling(options, profile + (fixed.isEmpty() ? "" : "_decode"));
      }
      if (cuda) {
        // the arena grows by what it is asked for, not to the next power of two
        api.appendCuda(options, "device_id", "0", "arena_extend_strategy", "kSameAsRequested",
            "enable_cuda_graph", cudaGraph ? "1" : "0");
      }
      return api.createSession(env, model.toString(), options);
    } finally {
      api.releaseSessionOptions(options);
    }
  }
}
