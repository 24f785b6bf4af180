package io.pastaserve.worker.kv;

import java.lang.foreign.MemorySegment;
import java.lang.ref.Cleaner;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;

/**
 * Keys and values of every layer for {@code rows} sequences of {@code columns} positions each, in the layout the model
 * reads and writes: per layer, a key and a value tensor of shape {@code (rows, kvHeads, columns, headDim)}, dense, of
 * {@code elementBytes} per element (4 for float32, 2 for float16). The tensors live in a {@link KvMemory}: host memory
 * off the Java heap, or a device's, one after the other in one allocation (layer 0's keys, its values, layer 1's keys,
 * ...), so a copy of the same columns of every tensor is one strided copy. Capacity grows on demand and is kept; the
 * shape is set per use with {@link #reshape}. Device memory is given back when the block grows or is no longer
 * reachable. Owned and mutated by one thread (the scheduler's).
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
  /** The tensors: {@code 2 * layers} of them, {@link Storage#stride} bytes apart. */
  private final Storage storage;
  /** Where this block's tensors start in each of the storage's: 0, or a row's offset for a row view. */
  private final long offset;
  /** Elements per tensor the storage holds. */
  private long capacity;
  private int rows;
  private int columns;
  private final boolean isView;

  /** A float32 block in host memory. */
  public KvBlock(int layers, int kvHeads, int headDim) {
    this(layers, kvHeads, headDim, Float.BYTES, HostMemory.INSTANCE);
  }

  public KvBlock(int layers, int kvHeads, int headDim, int elementBytes, KvMemory memory) {
    this(layers, kvHeads, headDim, elementBytes, memory, new Storage(memory), 0, false);
    if (!memory.freedByCollector()) {
      CLEANER.register(this, storage);
    }
  }

  private KvBlock(int layers, int kvHeads, int headDim, int elementBytes, KvMemory memory, Storage storage,
      long offset, boolean isView) {
    this.layers = layers;
    this.kvHeads = kvHeads;
    this.headDim = headDim;
    this.elementBytes = elementBytes;
    this.memory = memory;
    this.storage = storage;
    this.offset = offset;
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
    long size = src.rowElements();
    KvBlock view = new KvBlock(src.layers, src.kvHeads, src.headDim, src.elementBytes, src.memory, src.storage,
        src.offset + row * size * src.elementBytes, true);
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
    if (needed > capacity || storage.base == null) {
      long grown = Math.max(MIN_CAPACITY, Math.max(needed, (long) (capacity * 1.5)));
      storage.replace(2L * layers * grown * elementBytes);
      capacity = grown;
    }
    // tensors packed at their size (a whole number of rows: strided copies span them), or apart by the capacity
    storage.stride = (needed >= MIN_CAPACITY ? needed : capacity) * elementBytes;
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
    return storage.base.asSlice((2L * layer + kv) * storage.stride + offset, (long) size() * elementBytes);
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
    long srcOffset = src.offset + ((long) srcRow * src.kvHeads * src.columns + srcColumn) * d * e;
    long dstOffset = dst.offset + ((long) dstRow * dst.kvHeads * dst.columns + dstColumn) * d * e;
    src.memory.copy3d(dst.storage.base, dstOffset, dst.columns * d * e, dst.storage.stride, src.storage.base,
        srcOffset, src.columns * d * e, src.storage.stride, count * d * e, src.kvHeads, 2L * src.layers);
  }

  /**
   * Copies the first {@code count} columns of {@code rows} consecutive rows of {@code src} from {@code srcRow} into
   * rows {@code dstRow} on of {@code dst}, for every layer, key and value and head: one strided copy, since a row's
   * heads follow each other, and so do consecutive rows' and the tensors. The blocks have the same columns and memory.
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
    long srcOffset = src.offset + (long) srcRow * src.kvHeads * pitch;
    long dstOffset = dst.offset + (long) dstRow * dst.kvHeads * pitch;
    src.memory.copy3d(dst.storage.base, dstOffset, pitch, dst.storage.stride, src.storage.base, srcOffset, pitch,
        src.storage.stride, count * d * e, (long) rows * src.kvHeads, 2L * src.layers);
  }

  /**
   * A host copy of {@code count} columns of row {@code row} from column {@code column}: every layer's keys and
   * values, in one strided copy (off the device, on a GPU; the call returns when it is done).
   */
  public KvSnapshot snapshot(int row, int column, int count) {
    checkColumns(row, column, count);
    KvSnapshot s = KvSnapshot.allocate(layers, kvHeads, headDim, elementBytes, count);
    if (count > 0) {
      long e = elementBytes;
      long hostPitch = count * headDim * e;
      memory.copy3dToHost(s.writable(), 0, hostPitch, kvHeads * hostPitch, storage.base,
          offset + ((long) row * kvHeads * columns + column) * headDim * e, columns * headDim * e, storage.stride,
          hostPitch, kvHeads, 2L * layers);
    }
    return s;
  }

  /** Writes {@code snapshot}'s columns into row {@code row} from column {@code column}, every layer and head. */
  public void restore(KvSnapshot snapshot, int row, int column) {
    if (snapshot.layers() != layers || snapshot.kvHeads() != kvHeads || snapshot.headDim() != headDim
        || snapshot.elementBytes() != elementBytes) {
      throw new IllegalArgumentException("a snapshot of " + snapshot.layers() + " layers x " + snapshot.kvHeads()
          + " heads x " + snapshot.headDim() + " (" + snapshot.elementBytes() + " bytes) into a block of " + layers
          + " x " + kvHeads + " x " + headDim + " (" + elementBytes + ")");
    }
    int count = snapshot.columns();
    checkColumns(row, column, count);
    if (count > 0) {
      long e = elementBytes;
      long hostPitch = count * headDim * e;
      memory.copy3dFromHost(storage.base, offset + ((long) row * kvHeads * columns + column) * headDim * e,
          columns * headDim * e, storage.stride, snapshot.data(), 0, hostPitch, kvHeads * hostPitch, hostPitch,
          kvHeads, 2L * layers);
    }
  }

  private void checkColumns(int row, int column, int count) {
    if (row < 0 || row >= rows || column < 0 || count < 0 || column + count > columns) {
      throw new IndexOutOfBoundsException(count + " columns from " + row + ":" + column + " of " + rows + "x"
          + columns);
    }
  }

  private long rowElements() {
    return (long) kvHeads * columns * headDim;
  }

  /** The tensors' memory; for device memory also the cleaning action (it must not refer to its block). */
  private static final class Storage implements Runnable {

    private final KvMemory memory;
    /** Every tensor, one after the other; null until the first reshape. */
    private MemorySegment base;
    /** Bytes from one tensor's start to the next's. */
    private long stride;

    Storage(KvMemory memory) {
      this.memory = memory;
    }

    /** New memory of {@code bytes}; the old is given back. */
    void replace(long bytes) {
      run();
      base = memory.allocate(bytes);
    }

    @Override
    public synchronized void run() {
      if (memory.freedByCollector() || base == null) {
        return;
      }
      memory.free(base);
      base = null;
    }
  }
}
