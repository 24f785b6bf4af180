package io.pastaserve.worker.kv;

import java.util.function.Supplier;

/** The host cache keeps the {@link KvCache} contract. */
class BlockKvCacheTest extends KvCacheContract {

  @Override
  KvCache newCache(Supplier<KvBlock> blocks, KvAllocator allocator) {
    return new BlockKvCache(blocks, allocator);
  }
}
