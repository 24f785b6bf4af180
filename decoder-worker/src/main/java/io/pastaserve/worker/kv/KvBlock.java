package io.pastaserve.worker.kv;

import java.lang.foreign.MemorySegment;
import java.lang.ref.Cleaner;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;

/**
 * Keys and values of every layer for {@code rows} sequences of {@code columns} positions each, in the layout the
 * model reads and writes: per layer, a key and a value tensor of shape {@code (rows, kvHeads, columns, headDim)},
 * dense, of {@code elementBytes} per element (4 for float32, 2 for float16). The tensors live in a
 * {@link KvMemory}: host memory off the Java heap, or a device's. Capacity grows on demand and is kept; the shape
 * is set per use with {@link #reshape}. Device memory is given back when the block grows or is no longer reachable.
 * Owned and mutated by one thread (the scheduler's).
 */
public final class KvBlock {

  private static final Cleaner CLEANER = Cleaner.create();
  /** Smallest capacity, in elements per tensor: an empty block still has an address to bind. */
  private static final long MIN_CAPACITY = 64;

  private final int layers;
  private final int kvHeads;
  private final int headDim;
  private final int elementBytes;
  private final KvMemory memory;
  /** Per layer: [0] keys, [1] values; each {@code capacity} elements. */
  private final Storage storage;
  private long capacity;
  private int rows;
  private int columns;
  private final boolean isView;

  /** A float32 block in host memory. */
  public KvBlock(int layers, int kvHeads, int headDim) {
    this(layers, kvHeads, headDim, Float.BYTES, HostMemory.INSTANCE);
  }

  public KvBlock(int layers, int kvHeads, int headDim, int elementBytes, KvMemory memory) {
    this(layers, kvHeads, headDim, elementBytes, memory, new Storage(memory, layers), false);
    if (!memory.freedByCollector()) {
      CLEANER.register(this, storage);
    }
  }

  private KvBlock(int layers, int kvHeads, int headDim, int elementBytes, KvMemory memory, Storage storage,
      boolean isView) {
    this.layers = layers;
    this.kvHeads = kvHeads;
    this.headDim = headDim;
    this.elementBytes = elementBytes;
    this.memory = memory;
    this.storage = storage;
    this.isView = isView;
  }

  /**
   * One row of {@code src} as a block of its own, sharing its memory (no copy): valid until {@code src} is
   * reshaped or written. A view must not be reshaped.
   */
  public static KvBlock rowOf(KvBlock src, int row) {
    if (row < 0 || row >= src.rows) {
      throw new IndexOutOfBoundsException("row " + row + " of " + src.rows);
    }
    Storage shared = new Storage(src.memory, src.layers);
    long size = src.rowElements();
    for (int l = 0; l < src.layers; l++) {
      for (int kv = 0; kv < 2; kv++) {
        shared.segments[l][kv] = src.storage.segments[l][kv].asSlice(row * size * src.elementBytes,
            size * src.elementBytes);
      }
    }
    KvBlock view = new KvBlock(src.layers, src.kvHeads, src.headDim, src.elementBytes, src.memory, shared, true);
    view.capacity = size;
    view.rows = 1;
    view.columns = src.columns;
    return view;
  }

  /** Sets the shape, growing the tensors if needed; contents are undefined afterwards. */
  public void reshape(int rows, int columns) {
    if (isView) {
      throw new IllegalStateException("a row view cannot be reshaped");
    }
    long needed = (long) rows * kvHeads * columns * headDim;
    if (needed > capacity || storage.segments[0][0] == null) {
      long grown = Math.max(MIN_CAPACITY, Math.max(needed, (long) (capacity * 1.5)));
      storage.replace(grown * elementBytes);
      capacity = grown;
    }
    this.rows = rows;
    this.columns = columns;
  }

  public int rows() {
    return rows;
  }

  public int columns() {
    return columns;
  }

  public int layers() {
    return layers;
  }

  /** Bytes per element: 4 (float32) or 2 (float16). */
  public int elementBytes() {
    return elementBytes;
  }

  /** Elements in use per tensor. */
  public int size() {
    return (int) ((long) rows * kvHeads * columns * headDim);
  }

  /** Bytes held (capacity, not shape). */
  public long capacityBytes() {
    return 2L * layers * capacity * elementBytes;
  }

  /** The tensor in use ({@code kv}: 0 keys, 1 values) as memory: its address and {@link #size()} elements. */
  public MemorySegment segment(int layer, int kv) {
    return storage.segments[layer][kv].asSlice(0, (long) size() * elementBytes);
  }

  /** A view of a float32 tensor in host memory, sized exactly to the current shape. */
  public FloatBuffer tensor(int layer, int kv) {
    if (!memory.hostAccessible() || elementBytes != Float.BYTES) {
      throw new IllegalStateException("only a float32 block in host memory can be read as floats");
    }
    return segment(layer, kv).asByteBuffer().order(ByteOrder.nativeOrder()).asFloatBuffer();
  }

  /** The shape of every tensor of this block. */
  public long[] shape() {
    return new long[] {rows, kvHeads, columns, headDim};
  }

  /**
   * Copies {@code count} columns of row {@code srcRow} starting at {@code srcColumn} into row {@code dstRow}
   * at {@code dstColumn}, for every layer, key and value and head. Both blocks are in the same memory.
   */
  public static void copyColumns(KvBlock src, int srcRow, int srcColumn, KvBlock dst, int dstRow,
      int dstColumn, int count) {
    if (count == 0) {
      return;
    }
    if (srcColumn < 0 || srcColumn + count > src.columns || dstColumn < 0 || dstColumn + count > dst.columns
        || srcRow < 0 || srcRow >= src.rows || dstRow < 0 || dstRow >= dst.rows) {
      throw new IndexOutOfBoundsException("copy of " + count + " columns from " + srcRow + ":" + srcColumn
          + " of " + src.rows + "x" + src.columns + " to " + dstRow + ":" + dstColumn + " of " + dst.rows + "x"
          + dst.columns);
    }
    long e = src.elementBytes;
    long d = src.headDim;
    long srcOffset = ((long) srcRow * src.kvHeads * src.columns + srcColumn) * d * e;
    long dstOffset = ((long) dstRow * dst.kvHeads * dst.columns + dstColumn) * d * e;
    long srcPitch = src.columns * d * e;
    long dstPitch = dst.columns * d * e;
    for (int l = 0; l < src.layers; l++) {
      for (int kv = 0; kv < 2; kv++) {
        src.memory.copy2d(dst.storage.segments[l][kv], dstOffset, dstPitch, src.storage.segments[l][kv], srcOffset,
            srcPitch, count * d * e, src.kvHeads);
      }
    }
  }

  /**
   * Copies the first {@code count} columns of {@code rows} consecutive rows of {@code src} from {@code srcRow} into
   * rows {@code dstRow} on of {@code dst}, for every layer, key and value and head: one strided copy per tensor, since
   * a row's heads follow each other and so do consecutive rows'. The blocks have the same columns and memory.
   */
  public static void copyRows(KvBlock src, int srcRow, KvBlock dst, int dstRow, int rows, int count) {
    if (rows == 0 || count == 0) {
      return;
    }
    if (src.columns != dst.columns || count > src.columns || srcRow < 0 || srcRow + rows > src.rows || dstRow < 0
        || dstRow + rows > dst.rows) {
      throw new IndexOutOfBoundsException("copy of " + rows + " rows x " + count + " columns from row " + srcRow
          + " of " + src.rows + "x" + src.columns + " to row " + dstRow + " of " + dst.rows + "x" + dst.columns);
    }
    long e = src.elementBytes;
    long d = src.headDim;
    long pitch = src.columns * d * e;
    long srcOffset = (long) srcRow * src.kvHeads * pitch;
    long dstOffset = (long) dstRow * dst.kvHeads * pitch;
    for (int l = 0; l < src.layers; l++) {
      for (int kv = 0; kv < 2; kv++) {
        src.memory.copy2d(dst.storage.segments[l][kv], dstOffset, pitch, src.storage.segments[l][kv], srcOffset,
            pitch, count * d * e, (long) rows * src.kvHeads);
      }
    }
  }

  private long rowElements() {
    return (long) kvHeads * columns * headDim;
  }

  /** The tensors' memory; for device memory also the cleaning action (it must not refer to its block). */
  private static final class Storage implements Runnable {

    private final KvMemory memory;
    private final MemorySegment[][] segments;

    Storage(KvMemory memory, int layers) {
      this.memory = memory;
      this.segments = new MemorySegment[layers][2];
    }

    /** New tensors of {@code bytes} each; the old ones are given back. */
    void replace(long bytes) {
      run();
      for (MemorySegment[] layer : segments) {
        for (int kv = 0; kv < 2; kv++) {
          layer[kv] = memory.allocate(bytes);
        }
      }
    }

    @Override
    public synchronized void run() {
      if (memory.freedByCollector()) {
        return;
      }
      for (MemorySegment[] layer : segments) {
        for (int kv = 0; kv < 2; kv++) {
          if (layer[kv] != null) {
            memory.free(layer[kv]);
            layer[kv] = null;
          }
        }
      }
    }
  }
}
