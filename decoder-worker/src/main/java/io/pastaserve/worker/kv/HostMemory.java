package io.pastaserve.worker.kv;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/** Host memory off the Java heap, reclaimed by the garbage collector. */
public final class HostMemory implements KvMemory {

  /** The one instance: host memory has no state. */
  public static final HostMemory INSTANCE = new HostMemory();

  private HostMemory() {
  }

  @Override
  public MemorySegment allocate(long bytes) {
    return Arena.ofAuto().allocate(bytes, 64);
  }

  @Override
  public void free(MemorySegment segment) {
    // the collector reclaims the buffer
  }

  @Override
  public boolean freedByCollector() {
    return true;
  }

  @Override
  public boolean hostAccessible() {
    return true;
  }

  @Override
  public void copy2d(MemorySegment dst, long dstOffset, long dstPitch, MemorySegment src, long srcOffset,
      long srcPitch, long width, long height) {
    for (long i = 0; i < height; i++) {
      MemorySegment.copy(src, srcOffset + i * srcPitch, dst, dstOffset + i * dstPitch, width);
    }
  }
}
