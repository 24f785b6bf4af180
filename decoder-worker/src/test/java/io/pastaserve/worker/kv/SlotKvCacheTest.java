package io.pastaserve.worker.kv;

import java.util.function.Supplier;

class SlotKvCacheTest extends KvCacheContract {

  @Override
  KvCache newCache(Supplier<KvBlock> blocks, KvAllocator allocator) {
    return new SlotKvCache(blocks, allocator, 4, 32);
  }

  @Override
  boolean slots() {
    return true;
  }
}
