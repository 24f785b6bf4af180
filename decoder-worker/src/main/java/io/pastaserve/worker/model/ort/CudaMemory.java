package io.pastaserve.worker.model.ort;

import io.pastaserve.worker.kv.KvMemory;
import java.lang.foreign.MemorySegment;

/**
 * GPU memory for the KV cache: allocated from the session's CUDA allocator (ONNX Runtime's arena, so a block that
 * grows or goes away is cheap to replace), copied device to device by the CUDA runtime on a stream of its own; the
 * runner {@linkplain #awaitCopies waits for the copies} before a pass reads what they wrote.
 */
final class CudaMemory implements KvMemory {

  private final OrtApi api;
  private final MemorySegment allocator;
  private final CudaRuntime cuda;
  private volatile boolean closed;
  /** Copies queued since the last wait (scheduler thread only). */
  private boolean pending;

  CudaMemory(OrtApi api, MemorySegment allocator, CudaRuntime cuda) {
    this.api = api;
    this.allocator = allocator;
    this.cuda = cuda;
  }

  @Override
  public MemorySegment allocate(long bytes) {
    MemorySegment pointer;
    try {
      pointer = api.alloc(allocator, bytes);
    } catch (OrtFailure e) {
      OutOfMemoryError oom = new OutOfMemoryError("GPU memory for " + bytes + " bytes of KV cache: "
          + e.getMessage());
      oom.initCause(e);
      throw oom;
    }
    if (pointer.equals(MemorySegment.NULL)) {
      throw new OutOfMemoryError("GPU memory for " + bytes + " bytes of KV cache");
    }
    return pointer.reinterpret(bytes);
  }

  @Override
  public void free(MemorySegment segment) {
    if (!closed) {
      api.free(allocator, segment);
    }
  }

  @Override
  public boolean freedByCollector() {
    return false;
  }

  @Override
  public boolean hostAccessible() {
    return false;
  }

  @Override
  public void copy2d(MemorySegment dst, long dstOffset, long dstPitch, MemorySegment src, long srcOffset,
      long srcPitch, long width, long height) {
    cuda.copy2d(dst.asSlice(dstOffset), dstPitch, src.asSlice(srcOffset), srcPitch, width, height);
    pending = true;
  }

  /** One copy when each side's tensors are a whole number of rows apart (they are but in blocks of a few columns). */
  @Override
  public void copy3d(MemorySegment dst, long dstOffset, long dstPitch, long dstStride, MemorySegment src,
      long srcOffset, long srcPitch, long srcStride, long width, long height, long depth) {
    if (dstStride % dstPitch != 0 || srcStride % srcPitch != 0) {
      KvMemory.super.copy3d(dst, dstOffset, dstPitch, dstStride, src, srcOffset, srcPitch, srcStride, width, height,
          depth);
      return;
    }
    cuda.copy3d(dst, dstOffset, dstPitch, dstStride / dstPitch, src, srcOffset, srcPitch, srcStride / srcPitch, width,
        height, depth);
    pending = true;
  }

  @Override
  public void copy3dToHost(MemorySegment host, long hostOffset, long hostPitch, long hostStride, MemorySegment src,
      long srcOffset, long srcPitch, long srcStride, long width, long height, long depth) {
    requireWholeRows(hostStride, hostPitch, srcStride, srcPitch);
    cuda.copy3dToHost(host, hostOffset, hostPitch, hostStride / hostPitch, src, srcOffset, srcPitch,
        srcStride / srcPitch, width, height, depth);
    cuda.synchronize();
    pending = false;
  }

  @Override
  public void copy3dFromHost(MemorySegment dst, long dstOffset, long dstPitch, long dstStride, MemorySegment host,
      long hostOffset, long hostPitch, long hostStride, long width, long height, long depth) {
    requireWholeRows(dstStride, dstPitch, hostStride, hostPitch);
    cuda.copy3dToDevice(dst, dstOffset, dstPitch, dstStride / dstPitch, host, hostOffset, hostPitch,
        hostStride / hostPitch, width, height, depth);
    cuda.synchronize();
    pending = false;
  }

  private static void requireWholeRows(long strideA, long pitchA, long strideB, long pitchB) {
    if (strideA % pitchA != 0 || strideB % pitchB != 0) {
      throw new IllegalArgumentException("a copy to or from the host needs tensors a whole number of rows apart");
    }
  }

  /** Queues a copy of {@code bytes} from host memory to the device, in order with the cache's copies. */
  void copyToDevice(MemorySegment device, MemorySegment host, long bytes) {
    cuda.copyToDevice(device, host, bytes);
    pending = true;
  }

  /** The CUDA runtime the copies go through. */
  CudaRuntime runtime() {
    return cuda;
  }

  /** Returns when every copy queued so far is done (a pass on ONNX Runtime's stream may read them then). */
  void awaitCopies() {
    if (pending) {
      cuda.synchronize();
      pending = false;
    }
  }

  /** The allocator goes away with its session: later frees are skipped (the arena's memory went with it). */
  void close() {
    closed = true;
  }
}
