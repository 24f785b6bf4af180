package io.pastaserve.worker.model.ort;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;

/**
 * The few CUDA runtime calls the device cache needs beside ONNX Runtime: a stream of its own, strided
 * device-to-device copies on it, and the copies in and out of a {@link FixedShapePass}'s buffers. Binds
 * {@code libcudart} (the one ONNX Runtime's CUDA provider loaded, CUDA 13 or 12) through the FFM API.
 */
final class CudaRuntime {

  private static final int HOST_TO_DEVICE = 1;
  private static final int DEVICE_TO_HOST = 2;
  private static final int DEVICE_TO_DEVICE = 3;

  private final MethodHandle memcpy2dAsync;
  private final MethodHandle memcpyAsync;
  private final MethodHandle memcpy3dAsync;
  /** A {@code struct cudaMemcpy3DParms} (160 bytes on 64-bit Linux), filled per copy by its one caller thread. */
  private final MemorySegment params = Arena.global().allocate(160, 8);
  private final MethodHandle streamSynchronize;
  private final MethodHandle hostAlloc;
  private final MethodHandle freeHost;
  private final MethodHandle errorString;
  private final MemorySegment stream;

  private CudaRuntime(SymbolLookup cudart) {
    Linker linker = Linker.nativeLinker();
    memcpy2dAsync = linker.downcallHandle(find(cudart, "cudaMemcpy2DAsync"), FunctionDescriptor.of(JAVA_INT,
        ADDRESS, JAVA_LONG, ADDRESS, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_INT, ADDRESS));
    memcpyAsync = linker.downcallHandle(find(cudart, "cudaMemcpyAsync"), FunctionDescriptor.of(JAVA_INT,
        ADDRESS, ADDRESS, JAVA_LONG, JAVA_INT, ADDRESS));
    memcpy3dAsync = linker.downcallHandle(find(cudart, "cudaMemcpy3DAsync"), FunctionDescriptor.of(JAVA_INT,
        ADDRESS, ADDRESS));
    hostAlloc = linker.downcallHandle(find(cudart, "cudaHostAlloc"), FunctionDescriptor.of(JAVA_INT, ADDRESS,
        JAVA_LONG, JAVA_INT));
    freeHost = linker.downcallHandle(find(cudart, "cudaFreeHost"), FunctionDescriptor.of(JAVA_INT, ADDRESS));
    streamSynchronize = linker.downcallHandle(find(cudart, "cudaStreamSynchronize"),
        FunctionDescriptor.of(JAVA_INT, ADDRESS));
    errorString = linker.downcallHandle(find(cudart, "cudaGetErrorString"), FunctionDescriptor.of(ADDRESS, JAVA_INT));
    MethodHandle streamCreate = linker.downcallHandle(find(cudart, "cudaStreamCreateWithFlags"),
        FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
    try (Arena a = Arena.ofConfined()) {
      MemorySegment out = a.allocate(ADDRESS);
      // cudaStreamNonBlocking = 1: not ordered with the legacy default stream
      check((int) streamCreate.invokeExact(out, 1), "cudaStreamCreateWithFlags");
      stream = out.get(ADDRESS, 0);
    } catch (OrtFailure e) {
      throw e;
    } catch (Throwable e) {
      throw new OrtFailure("cudaStreamCreateWithFlags: " + e, e);
    }
  }

  /** The CUDA runtime already in the process (ONNX Runtime's CUDA provider loads it). */
  static CudaRuntime load() {
    for (String name : new String[] {"libcudart.so.13", "libcudart.so.12", "libcudart.so"}) {
      try {
        return new CudaRuntime(SymbolLookup.libraryLookup(name, Arena.global()));
      } catch (IllegalArgumentException e) {
        // not this version; try the next
      }
    }
    throw new OrtFailure("the CUDA runtime (libcudart.so.13 or .12) cannot be loaded: is it on LD_LIBRARY_PATH?");
  }

  /**
   * Copies {@code depth} slices of {@code height} rows of {@code width} bytes, device to device, on the stream;
   * returns at once. Rows are {@code pitch} bytes apart and slices {@code pitch * sliceRows} (each side its own);
   * a copy starts {@code offset} bytes into its side's first slice.
   */
  synchronized void copy3d(MemorySegment dst, long dstOffset, long dstPitch, long dstSliceRows, MemorySegment src,
      long srcOffset, long srcPitch, long srcSliceRows, long width, long height, long depth) {
    copy3d(dst, dstOffset, dstPitch, dstSliceRows, src, srcOffset, srcPitch, srcSliceRows, width, height, depth,
        DEVICE_TO_DEVICE);
  }

  /** {@link #copy3d} from the host to the device. */
  void copy3dToDevice(MemorySegment dst, long dstOffset, long dstPitch, long dstSliceRows, MemorySegment host,
      long hostOffset, long hostPitch, long hostSliceRows, long width, long height, long depth) {
    copy3d(dst, dstOffset, dstPitch, dstSliceRows, host, hostOffset, hostPitch, hostSliceRows, width, height, depth,
        HOST_TO_DEVICE);
  }

  /** {@link #copy3d} from the device to the host. */
  void copy3dToHost(MemorySegment host, long hostOffset, long hostPitch, long hostSliceRows, MemorySegment src,
      long srcOffset, long srcPitch, long srcSliceRows, long width, long height, long depth) {
    copy3d(host, hostOffset, hostPitch, hostSliceRows, src, srcOffset, srcPitch, srcSliceRows, width, height, depth,
        DEVICE_TO_HOST);
  }

  private synchronized void copy3d(MemorySegment dst, long dstOffset, long dstPitch, long dstSliceRows,
      MemorySegment src, long srcOffset, long srcPitch, long srcSliceRows, long width, long height, long depth,
      int kind) {
    params.fill((byte) 0);
    // srcPos (x bytes, y rows, z slices) at 8, srcPtr (ptr, pitch, xsize, ysize) at 32
    params.set(JAVA_LONG, 8, srcOffset % srcPitch);
    params.set(JAVA_LONG, 16, srcOffset / srcPitch);
    params.set(ADDRESS, 32, src);
    params.set(JAVA_LONG, 40, srcPitch);
    params.set(JAVA_LONG, 48, srcPitch);
    params.set(JAVA_LONG, 56, srcSliceRows);
    // dstPos at 72, dstPtr at 96
    params.set(JAVA_LONG, 72, dstOffset % dstPitch);
    params.set(JAVA_LONG, 80, dstOffset / dstPitch);
    params.set(ADDRESS, 96, dst);
    params.set(JAVA_LONG, 104, dstPitch);
    params.set(JAVA_LONG, 112, dstPitch);
    params.set(JAVA_LONG, 120, dstSliceRows);
    // extent (width bytes, height rows, depth slices) at 128, kind at 152
    params.set(JAVA_LONG, 128, width);
    params.set(JAVA_LONG, 136, height);
    params.set(JAVA_LONG, 144, depth);
    params.set(JAVA_INT, 152, kind);
    int error;
    try {
      error = (int) memcpy3dAsync.invokeExact(params, stream);
    } catch (Throwable e) {
      throw new OrtFailure("cudaMemcpy3DAsync: " + e, e);
    }
    check(error, "cudaMemcpy3DAsync");
  }

  /** Copies {@code bytes} bytes from host memory to the device, on the stream; returns at once. */
  void copyToDevice(MemorySegment device, MemorySegment host, long bytes) {
    copy(device, host, bytes, HOST_TO_DEVICE);
  }

  /** Copies {@code bytes} bytes from the device to host memory, on the stream; returns at once. */
  void copyToHost(MemorySegment host, MemorySegment device, long bytes) {
    copy(host, device, bytes, DEVICE_TO_HOST);
  }

  private void copy(MemorySegment dst, MemorySegment src, long bytes, int kind) {
    int error;
    try {
      error = (int) memcpyAsync.invokeExact(dst, src, bytes, kind, stream);
    } catch (Throwable e) {
      throw new OrtFailure("cudaMemcpyAsync: " + e, e);
    }
    check(error, "cudaMemcpyAsync");
  }

  /** Copies {@code height} rows of {@code width} bytes, device to device, on the stream; returns at once. */
  void copy2d(MemorySegment dst, long dstPitch, MemorySegment src, long srcPitch, long width, long height) {
    int error;
    try {
      error = (int) memcpy2dAsync.invokeExact(dst, dstPitch, src, srcPitch, width, height, DEVICE_TO_DEVICE, stream);
    } catch (Throwable e) {
      throw new OrtFailure("cudaMemcpy2DAsync: " + e, e);
    }
    check(error, "cudaMemcpy2DAsync");
  }

  /**
   * {@code bytes} of page-locked host memory (copies to and from it run at the bus's speed); free with
   * {@link #freeHost}.
   */
  MemorySegment allocateHost(long bytes) {
    int error;
    try (Arena a = Arena.ofConfined()) {
      MemorySegment out = a.allocate(ADDRESS);
      error = (int) hostAlloc.invokeExact(out, bytes, 0);
      check(error, "cudaHostAlloc " + bytes + " bytes");
      return out.get(ADDRESS, 0).reinterpret(bytes);
    } catch (OrtFailure e) {
      throw e;
    } catch (Throwable e) {
      throw new OrtFailure("cudaHostAlloc: " + e, e);
    }
  }

  void freeHost(MemorySegment host) {
    int error;
    try {
      error = (int) freeHost.invokeExact(host);
    } catch (Throwable e) {
      throw new OrtFailure("cudaFreeHost: " + e, e);
    }
    check(error, "cudaFreeHost");
  }

  /** Waits for the stream's work. */
  void synchronize() {
    int error;
    try {
      error = (int) streamSynchronize.invokeExact(stream);
    } catch (Throwable e) {
      throw new OrtFailure("cudaStreamSynchronize: " + e, e);
    }
    check(error, "cudaStreamSynchronize");
  }

  private void check(int error, String what) {
    if (error == 0) {
      return;
    }
    String message;
    try {
      message = ((MemorySegment) errorString.invokeExact(error)).reinterpret(256).getString(0);
    } catch (Throwable e) {
      message = "error " + error;
    }
    throw new OrtFailure(what + ": " + message);
  }

  private static MemorySegment find(SymbolLookup lookup, String name) {
    return lookup.find(name).orElseThrow(() -> new OrtFailure("libcudart has no " + name));
  }
}
