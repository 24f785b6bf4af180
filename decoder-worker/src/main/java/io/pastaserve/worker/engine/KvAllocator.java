package io.pastaserve.worker.engine;

import io.pastaserve.common.lang.SpanId;
import io.pastaserve.worker.kv.KvBlock;
import io.pastaserve.worker.model.ModelRunner;

/**
 * Gives a span a block of its own for its cache when it leaves the batch (it is parked). Allocating off the Java
 * heap can fail ({@code OutOfMemoryError} for direct memory): only the span's request fails then.
 */
@FunctionalInterface
interface KvAllocator {

  /** A new block of one row of {@code columns} columns for span {@code span} of request {@code requestId}. */
  KvBlock allocate(String requestId, SpanId span, int columns);

  /** Blocks from the model's runner, in its cache layout. */
  static KvAllocator of(ModelRunner runner) {
    return (requestId, span, columns) -> {
      KvBlock block = runner.newKvBlock();
      block.reshape(1, columns);
      return block;
    };
  }
}
