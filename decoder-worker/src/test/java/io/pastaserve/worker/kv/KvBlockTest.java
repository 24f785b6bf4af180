package io.pastaserve.worker.kv;

import static java.lang.foreign.ValueLayout.JAVA_SHORT;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.MemorySegment;
import org.junit.jupiter.api.Test;

/**
 * Column copies in the cache layout, for either element size: the offsets a device copy uses are the same, so the
 * host memory's copies check them.
 */
class KvBlockTest {

  private static final int LAYERS = 2;
  private static final int HEADS = 3;
  private static final int DIM = 4;

  /** Element value that names where it is: layer, key/value, row, head, column, index. */
  private static short code(int layer, int kv, int row, int head, int column, int i) {
    return (short) (layer * 10000 + kv * 5000 + row * 1000 + head * 100 + column * 10 + i);
  }

  @Test
  void copyColumns_movesEveryLayerHeadAndElement_ofHalfPrecisionBlocks() {
    KvBlock src = new KvBlock(LAYERS, HEADS, DIM, 2, HostMemory.INSTANCE);
    src.reshape(2, 5);
    for (int l = 0; l < LAYERS; l++) {
      for (int kv = 0; kv < 2; kv++) {
        MemorySegment s = src.segment(l, kv);
        for (int r = 0; r < 2; r++) {
          for (int h = 0; h < HEADS; h++) {
            for (int c = 0; c < 5; c++) {
              for (int i = 0; i < DIM; i++) {
                s.setAtIndex(JAVA_SHORT, (((long) r * HEADS + h) * 5 + c) * DIM + i, code(l, kv, r, h, c, i));
              }
            }
          }
        }
      }
    }
    KvBlock dst = new KvBlock(LAYERS, HEADS, DIM, 2, HostMemory.INSTANCE);
    dst.reshape(3, 7);

    KvBlock.copyColumns(src, 1, 2, dst, 2, 4, 3); // columns 2..4 of row 1 to columns 4..6 of row 2

    for (int l = 0; l < LAYERS; l++) {
      for (int kv = 0; kv < 2; kv++) {
        MemorySegment d = dst.segment(l, kv);
        for (int h = 0; h < HEADS; h++) {
          for (int c = 0; c < 3; c++) {
            for (int i = 0; i < DIM; i++) {
              assertThat(d.getAtIndex(JAVA_SHORT, (((long) 2 * HEADS + h) * 7 + 4 + c) * DIM + i))
                  .isEqualTo(code(l, kv, 1, h, 2 + c, i));
            }
          }
        }
      }
    }
    assertThat(dst.capacityBytes()).isEqualTo(2L * LAYERS * Math.max(64, 3 * HEADS * 7 * DIM) * 2);
  }

  @Test
  void copyRows_movesConsecutiveRowsColumns_everyLayerHeadAndElement_andNothingElse() {
    KvBlock src = new KvBlock(LAYERS, HEADS, DIM, 2, HostMemory.INSTANCE);
    src.reshape(5, 6);
    fill(src, 5, 6);
    KvBlock dst = new KvBlock(LAYERS, HEADS, DIM, 2, HostMemory.INSTANCE);
    dst.reshape(4, 6);
    for (int l = 0; l < LAYERS; l++) {
      dst.segment(l, 0).fill((byte) 0);
      dst.segment(l, 1).fill((byte) 0);
    }

    KvBlock.copyRows(src, 2, dst, 1, 3, 4); // columns 0..3 of rows 2..4 to rows 1..3

    for (int l = 0; l < LAYERS; l++) {
      for (int kv = 0; kv < 2; kv++) {
        MemorySegment d = dst.segment(l, kv);
        for (int r = 0; r < 4; r++) {
          for (int h = 0; h < HEADS; h++) {
            for (int c = 0; c < 6; c++) {
              for (int i = 0; i < DIM; i++) {
                short want = r >= 1 && c < 4 ? code(l, kv, r + 1, h, c, i) : 0;
                assertThat(d.getAtIndex(JAVA_SHORT, (((long) r * HEADS + h) * 6 + c) * DIM + i))
                    .as("layer %d kv %d row %d head %d column %d", l, kv, r, h, c).isEqualTo(want);
              }
            }
          }
        }
      }
    }
    assertThatThrownBy(() -> KvBlock.copyRows(src, 3, dst, 0, 3, 4)).isInstanceOf(IndexOutOfBoundsException.class);
  }

  private static void fill(KvBlock block, int rows, int columns) {
    for (int l = 0; l < LAYERS; l++) {
      for (int kv = 0; kv < 2; kv++) {
        MemorySegment s = block.segment(l, kv);
        for (int r = 0; r < rows; r++) {
          for (int h = 0; h < HEADS; h++) {
            for (int c = 0; c < columns; c++) {
              for (int i = 0; i < DIM; i++) {
                s.setAtIndex(JAVA_SHORT, (((long) r * HEADS + h) * columns + c) * DIM + i, code(l, kv, r, h, c, i));
              }
            }
          }
        }
      }
    }
  }

  @Test
  void aRowView_seesItsRowsColumns_andCannotBeReshaped() {
    KvBlock block = new KvBlock(1, 1, 2);
    block.reshape(2, 3);
    for (int i = 0; i < 12; i++) {
      block.tensor(0, 0).put(i, i);
    }
    KvBlock row = KvBlock.rowOf(block, 1);

    assertThat(row.rows()).isEqualTo(1);
    assertThat(row.tensor(0, 0).get(0)).isEqualTo(6f);
    assertThatThrownBy(() -> row.reshape(1, 4)).isInstanceOf(IllegalStateException.class);
  }

  @Test
  void aHalfPrecisionBlock_isNotReadAsFloats() {
    KvBlock half = new KvBlock(1, 1, 2, 2, HostMemory.INSTANCE);
    half.reshape(1, 1);

    assertThatThrownBy(() -> half.tensor(0, 0)).isInstanceOf(IllegalStateException.class);
  }
}
