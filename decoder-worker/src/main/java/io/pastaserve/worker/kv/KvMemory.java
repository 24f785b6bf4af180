package io.pastaserve.worker.kv;

import java.lang.foreign.MemorySegment;

/**
 * Where {@link KvBlock}s keep their tensors: host memory ({@link HostMemory}) or a device's, and how columns move
 * within it. A device's segments are addresses only: Java never reads them; copies are the memory's to make.
 */
public interface KvMemory {

  /** {@code bytes} of memory, contents undefined. May throw {@code OutOfMemoryError}. */
  MemorySegment allocate(long bytes);

  /** Gives back what {@link #allocate} returned, when {@link #freedByCollector()} is false. */
  void free(MemorySegment segment);

  /** Whether unreachable segments are reclaimed by the garbage collector (host buffers) and never by {@link #free}. */
  boolean freedByCollector();

  /** Whether Java may read and write the segments (host memory). */
  boolean hostAccessible();

  /**
   * Copies {@code height} rows of {@code width} bytes from {@code src} (rows {@code srcPitch} bytes apart, from byte
   * {@code srcOffset}) to {@code dst} likewise. On a device the copy is queued in order before the next pass.
   */
  void copy2d(MemorySegment dst, long dstOffset, long dstPitch, MemorySegment src, long srcOffset, long srcPitch,
      long width, long height);

  /**
   * {@link #copy2d} of {@code depth} tensors, each {@code dstStride} (and {@code srcStride}) bytes after the one
   * before, as one copy where the memory can.
   */
  default void copy3d(MemorySegment dst, long dstOffset, long dstPitch, long dstStride, MemorySegment src,
      long srcOffset, long srcPitch, long srcStride, long width, long height, long depth) {
    for (long z = 0; z < depth; z++) {
      copy2d(dst, dstOffset + z * dstStride, dstPitch, src, srcOffset + z * srcStride, srcPitch, width, height);
    }
  }

  /**
   * {@link #copy3d} from this memory ({@code src}) to host memory ({@code host}); returns when the copy is done.
   */
  default void copy3dToHost(MemorySegment host, long hostOffset, long hostPitch, long hostStride, MemorySegment src,
      long srcOffset, long srcPitch, long srcStride, long width, long height, long depth) {
    copy3d(host, hostOffset, hostPitch, hostStride, src, srcOffset, srcPitch, srcStride, width, height, depth);
  }

  /**
   * {@link #copy3d} from host memory ({@code host}) to this memory ({@code dst}); {@code host} may be reused when
   * it returns.
   */
  default void copy3dFromHost(MemorySegment dst, long dstOffset, long dstPitch, long dstStride, MemorySegment host,
      long hostOffset, long hostPitch, long hostStride, long width, long height, long depth) {
    copy3d(dst, dstOffset, dstPitch, dstStride, host, hostOffset, hostPitch, hostStride, width, height, depth);
  }
}
