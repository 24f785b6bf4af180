package io.pastaserve.worker.kv;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** Host memory off the Java heap: direct buffers, reclaimed by the garbage collector. */
public final class HostMemory implements KvMemory {

  /** The one instance: host memory has no state. */
  public static final HostMemory INSTANCE = new HostMemory();

  private HostMemory() {
  }

  @Override
  public MemorySegment allocate(long bytes) {
    if (bytes > Integer.MAX_VALUE) {
      throw new IllegalArgumentException("a host KV tensor is limited to 2 GiB, not " + bytes + " bytes");
    }
    return MemorySegment.ofBuffer(ByteBuffer.allocateDirect((int) bytes).order(ByteOrder.nativeOrder()));
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
