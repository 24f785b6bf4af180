package io.pastaserve.worker.kv;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * A host copy of {@code columns} columns of one span's cache: every layer's keys and values, laid out as (tensor,
 * head, column, element) with the tensors in {@link KvBlock}'s order (layer 0's keys, its values, layer 1's keys,
 * ...). What a span's prefix is off its block, to be sent to another worker ({@link #encode}) and written into a
 * block there ({@link KvBlock#restore}). Immutable once made.
 */
public final class KvSnapshot {

  /** "PKV1": the encoding's magic and version. */
  private static final int MAGIC = 0x31564B50;
  private static final int HEADER_BYTES = 6 * Integer.BYTES;

  private final int layers;
  private final int kvHeads;
  private final int headDim;
  private final int elementBytes;
  private final int columns;
  /** {@code 2 * layers * kvHeads * columns * headDim} elements. */
  private final MemorySegment data;

  KvSnapshot(int layers, int kvHeads, int headDim, int elementBytes, int columns, MemorySegment data) {
    if (data.byteSize() != bytes(layers, kvHeads, headDim, elementBytes, columns)) {
      throw new IllegalArgumentException("a snapshot of " + columns + " columns needs "
          + bytes(layers, kvHeads, headDim, elementBytes, columns) + " bytes, not " + data.byteSize());
    }
    this.layers = layers;
    this.kvHeads = kvHeads;
    this.headDim = headDim;
    this.elementBytes = elementBytes;
    this.columns = columns;
    this.data = data;
  }

  /** An empty snapshot of {@code columns} columns, for a copy to fill. */
  static KvSnapshot allocate(int layers, int kvHeads, int headDim, int elementBytes, int columns) {
    return new KvSnapshot(layers, kvHeads, headDim, elementBytes, columns,
        Arena.ofAuto().allocate(bytes(layers, kvHeads, headDim, elementBytes, columns), 64));
  }

  static long bytes(int layers, int kvHeads, int headDim, int elementBytes, int columns) {
    return 2L * layers * kvHeads * columns * headDim * elementBytes;
  }

  public int layers() {
    return layers;
  }

  public int kvHeads() {
    return kvHeads;
  }

  public int headDim() {
    return headDim;
  }

  public int elementBytes() {
    return elementBytes;
  }

  public int columns() {
    return columns;
  }

  /** The keys and values, read-only. */
  public MemorySegment data() {
    return data.asReadOnly();
  }

  /** The keys and values, for the copy that fills a new snapshot. */
  MemorySegment writable() {
    return data;
  }

  /** Bytes of the keys and values (what {@link #encode} adds a small header to). */
  public long byteSize() {
    return data.byteSize();
  }

  /** The shape, then the keys and values, little-endian. */
  public byte[] encode() {
    if (data.byteSize() > Integer.MAX_VALUE - HEADER_BYTES) {
      throw new IllegalStateException("a snapshot of " + data.byteSize() + " bytes is too large to encode");
    }
    byte[] out = new byte[HEADER_BYTES + (int) data.byteSize()];
    ByteBuffer header = ByteBuffer.wrap(out).order(ByteOrder.LITTLE_ENDIAN);
    header.putInt(MAGIC).putInt(layers).putInt(kvHeads).putInt(headDim).putInt(elementBytes).putInt(columns);
    MemorySegment.copy(data, 0, MemorySegment.ofArray(out), HEADER_BYTES, data.byteSize());
    return out;
  }

  /**
   * What {@link #encode} wrote.
   *
   * @throws IllegalArgumentException when {@code bytes} is not an encoded snapshot
   */
  public static KvSnapshot decode(byte[] bytes) {
    if (bytes.length < HEADER_BYTES) {
      throw new IllegalArgumentException("not a KV snapshot: " + bytes.length + " bytes");
    }
    ByteBuffer header = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
    if (header.getInt() != MAGIC) {
      throw new IllegalArgumentException("not a KV snapshot: no PKV1 header");
    }
    int layers = header.getInt();
    int kvHeads = header.getInt();
    int headDim = header.getInt();
    int elementBytes = header.getInt();
    int columns = header.getInt();
    if (layers <= 0 || kvHeads <= 0 || headDim <= 0 || (elementBytes != 2 && elementBytes != 4) || columns < 0
        || bytes.length - HEADER_BYTES != bytes(layers, kvHeads, headDim, elementBytes, columns)) {
      throw new IllegalArgumentException("a KV snapshot whose header does not match its " + bytes.length
          + " bytes");
    }
    MemorySegment data = Arena.ofAuto().allocate(bytes.length - HEADER_BYTES, 64);
    MemorySegment.copy(MemorySegment.ofArray(bytes), HEADER_BYTES, data, 0, data.byteSize());
    return new KvSnapshot(layers, kvHeads, headDim, elementBytes, columns, data);
  }
}
