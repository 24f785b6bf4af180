package io.pastaserve.worker.kv;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;

/**
 * Keys and values of every layer for {@code rows} sequences of {@code columns} positions each, off the Java
 * heap in the layout the model reads and writes: per layer, a key and a value tensor of shape
 * {@code (rows, kvHeads, columns, headDim)}, dense. Capacity grows on demand and is kept; the shape is set per
 * use with {@link #reshape}. Owned and mutated by one thread (the scheduler's).
 */
public final class KvBlock {

  private final int layers;
  private final int kvHeads;
  private final int headDim;
  /** Per layer: [0] keys, [1] values; each a direct buffer of {@code capacity} floats. */
  private FloatBuffer[][] buffers;
  private int capacity;
  private int rows;
  private int columns;
  private boolean isView;

  public KvBlock(int layers, int kvHeads, int headDim) {
    this.layers = layers;
    this.kvHeads = kvHeads;
    this.headDim = headDim;
    this.buffers = new FloatBuffer[layers][2];
  }

  /**
   * One row of {@code src} as a block of its own, sharing its memory (no copy): valid until {@code src} is
   * reshaped or written. A view must not be reshaped.
   */
  public static KvBlock rowOf(KvBlock src, int row) {
    if (row < 0 || row >= src.rows) {
      throw new IndexOutOfBoundsException("row " + row + " of " + src.rows);
    }
    KvBlock view = new KvBlock(src.layers, src.kvHeads, src.headDim);
    int size = src.kvHeads * src.columns * src.headDim;
    for (int l = 0; l < src.layers; l++) {
      for (int kv = 0; kv < 2; kv++) {
        view.buffers[l][kv] = src.buffers[l][kv].slice(row * size, size);
      }
    }
    view.capacity = size;
    view.rows = 1;
    view.columns = src.columns;
    view.isView = true;
    return view;
  }

  /** Sets the shape, growing the buffers if needed; contents are undefined afterwards. */
  public void reshape(int rows, int columns) {
    if (isView) {
      throw new IllegalStateException("a row view cannot be reshaped");
    }
    long needed = (long) rows * kvHeads * columns * headDim;
    if (needed > Integer.MAX_VALUE) {
      throw new IllegalArgumentException("KV block too large: " + rows + " rows x " + columns + " columns");
    }
    if (needed > capacity || buffers[0][0] == null) {
      int grown = (int) Math.min(Integer.MAX_VALUE, Math.max(needed, (long) (capacity * 1.5)));
      for (int l = 0; l < layers; l++) {
        for (int kv = 0; kv < 2; kv++) {
          buffers[l][kv] = ByteBuffer.allocateDirect(grown * Float.BYTES).order(ByteOrder.nativeOrder())
              .asFloatBuffer();
        }
      }
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

  /** Floats in use per tensor. */
  public int size() {
    return rows * kvHeads * columns * headDim;
  }

  /** Bytes held off-heap (capacity, not shape). */
  public long capacityBytes() {
    return 2L * layers * capacity * Float.BYTES;
  }

  /** A view of the tensor in use ({@code kv}: 0 keys, 1 values), sized exactly to the current shape. */
  public FloatBuffer tensor(int layer, int kv) {
    return buffers[layer][kv].slice(0, size());
  }

  /** The shape of every tensor of this block. */
  public long[] shape() {
    return new long[] {rows, kvHeads, columns, headDim};
  }

  /**
   * Copies {@code count} columns of row {@code srcRow} starting at {@code srcColumn} into row {@code dstRow}
   * at {@code dstColumn}, for every layer, key and value and head.
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
    int d = src.headDim;
    int len = count * d;
    for (int l = 0; l < src.layers; l++) {
      for (int kv = 0; kv < 2; kv++) {
        FloatBuffer from = src.buffers[l][kv];
        FloatBuffer to = dst.buffers[l][kv];
        for (int h = 0; h < src.kvHeads; h++) {
          int s = ((srcRow * src.kvHeads + h) * src.columns + srcColumn) * d;
          int t = ((dstRow * dst.kvHeads + h) * dst.columns + dstColumn) * d;
          to.put(t, from, s, len);
        }
      }
    }
  }
}
