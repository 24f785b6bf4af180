package io.pastaserve.worker.kv;

import io.pastaserve.common.lang.SpanId;
import java.util.function.Supplier;

/**
 * Gives a sequence a block of its own for its cache when it leaves the batch (it is parked). Allocating off the Java
 * heap can fail ({@code OutOfMemoryError} for direct memory): only the span's request fails then.
 */
@FunctionalInterface
public interface KvAllocator {

  /** A new block of one row of {@code columns} columns for span {@code span} of request {@code requestId}. */
  KvBlock allocate(String requestId, SpanId span, int columns);

  /** Blocks from {@code blocks} (the model's runner, in its cache layout), shaped to one row. */
  static KvAllocator of(Supplier<KvBlock> blocks) {
    return (requestId, span, columns) -> {
      KvBlock block = blocks.get();
      block.reshape(1, columns);
      return block;
    };
  }
}
