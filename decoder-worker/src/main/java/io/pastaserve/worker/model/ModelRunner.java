package io.pastaserve.worker.model;

import io.pastaserve.worker.kv.KvBlock;
import io.pastaserve.worker.model.ort.BoundModelRunner;
import java.nio.FloatBuffer;
import java.nio.file.Path;

/**
 * A model that runs forward passes over a cache it lays out: the engine asks it for {@linkplain #newKvBlock blocks}
 * and hands it a pass's past and present. Two implementations: {@link BoundModelRunner} binds the cache where it
 * lives (device memory on a GPU; host memory on the CPU) through ONNX Runtime's I/O binding; {@link JavaApiRunner}
 * goes through ONNX Runtime's Java API with the cache in host memory.
 *
 * <p>The model is immutable and may be shared; a runner's buffers are not: one thread calls {@link #forward}.
 */
public interface ModelRunner extends AutoCloseable {

  /** Opens the model in {@code dir} on {@code device} with I/O binding; {@code intraOpThreads} 0: ONNX Runtime's. */
  static ModelRunner open(Path dir, ExecutionProvider device, int intraOpThreads) {
    return open(dir, device, intraOpThreads, true, RunnerApi.BINDING);
  }

  /**
   * Opens the model in {@code dir}; with {@code spinWait} false, idle ONNX Runtime threads sleep instead of spinning
   * (a little latency for the cores of a shared machine).
   *
   * @throws ModelContractException when the directory does not meet the model contract, or the device is absent
   */
  static ModelRunner open(Path dir, ExecutionProvider device, int intraOpThreads, boolean spinWait, RunnerApi api) {
    return switch (api) {
      case BINDING -> BoundModelRunner.open(dir, device, intraOpThreads, spinWait);
      case JAVA -> JavaApiRunner.open(dir, device, intraOpThreads, spinWait);
    };
  }

  ModelConfig config();

  Tokenizer tokenizer();

  Path dir();

  /** {@code cpu} or {@code cuda}: where the model runs. */
  String device();

  /** An empty block in this model's cache layout and memory. */
  KvBlock newKvBlock();

  /**
   * One forward pass of {@code rows x seq} new tokens on top of {@code past}.
   *
   * @param inputIds {@code rows * seq} token ids, row-major
   * @param positionIds position id of each new token, same layout
   * @param attentionMask {@code rows * (pastColumns + seq)}: 1 where a row may attend (a key position, past or
   *     new); the model adds causality among the new tokens. A static-cache model reads from it only how many of
   *     the past columns each row sees (they must be its last ones: rows right-aligned, as the engine builds them)
   * @param pastColumns the past's columns: {@code past.columns()}, or, for a static-cache model, the longest row's
   * @param past the cache to attend to; its shape must be {@code (rows, kvHeads, pastColumns, headDim)}, or, for a
   *     static-cache model, slots of which the first {@code rows} hold the rows, left-aligned
   * @param present reshaped here to {@code past.columns() + seq} columns and filled with past and new keys and
   *     values, must not be {@code past}; for a static-cache model it is {@code past}, written in place
   * @return the logits, {@code rows * seq * vocab} floats, valid until the next call
   */
  FloatBuffer forward(int rows, int seq, long[] inputIds, long[] positionIds, long[] attentionMask, int pastColumns,
      KvBlock past, KvBlock present);

  /**
   * Readies what the passes of a static-cache model over {@code slots} slots of {@code columns} columns need, before
   * the first request comes: the binding runner's fixed-shape sessions. Nothing, by default.
   */
  default void prepareSlots(int slots, int columns) {
  }

  /** {@link #forward(int, int, long[], long[], long[], int, KvBlock, KvBlock)} over all of {@code past}'s columns. */
  default FloatBuffer forward(int rows, int seq, long[] inputIds, long[] positionIds, long[] attentionMask,
      KvBlock past, KvBlock present) {
    return forward(rows, seq, inputIds, positionIds, attentionMask, past.columns(), past, present);
  }

  @Override
  void close();
}
