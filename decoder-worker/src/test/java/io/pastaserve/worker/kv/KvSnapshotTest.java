package io.pastaserve.worker.kv;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.FloatBuffer;
import org.junit.jupiter.api.Test;

/** A row's columns off a block and back, through the bytes another worker would receive. */
class KvSnapshotTest {

  @Test
  void aRowsColumns_encodedAndDecoded_restoreIntoAnotherRowAndColumn_exactly() {
    KvBlock src = new KvBlock(2, 3, 4);
    src.reshape(2, 10);
    for (int l = 0; l < 2; l++) {
      for (int kv = 0; kv < 2; kv++) {
        FloatBuffer t = src.tensor(l, kv);
        for (int i = 0; i < t.capacity(); i++) {
          t.put(i, l * 1000 + kv * 500 + i);
        }
      }
    }
    KvSnapshot snapshot = KvSnapshot.decode(src.snapshot(1, 2, 6).encode());
    KvBlock dst = new KvBlock(2, 3, 4);
    dst.reshape(3, 12);
    dst.restore(snapshot, 2, 5);

    assertThat(snapshot.columns()).isEqualTo(6);
    assertThat(snapshot.byteSize()).isEqualTo(2L * 2 * 3 * 6 * 4 * Float.BYTES);
    for (int l = 0; l < 2; l++) {
      for (int kv = 0; kv < 2; kv++) {
        for (int h = 0; h < 3; h++) {
          for (int c = 0; c < 6; c++) {
            for (int i = 0; i < 4; i++) {
              float want = src.tensor(l, kv).get(((1 * 3 + h) * 10 + 2 + c) * 4 + i);
              float got = dst.tensor(l, kv).get(((2 * 3 + h) * 12 + 5 + c) * 4 + i);
              assertThat(got).as("layer %d kv %d head %d column %d", l, kv, h, c).isEqualTo(want);
            }
          }
        }
      }
    }
  }

  @Test
  void whatIsNotASnapshot_orDoesNotFitTheBlock_isRefused() {
    assertThatThrownBy(() -> KvSnapshot.decode(new byte[] {1, 2, 3})).isInstanceOf(IllegalArgumentException.class);
    KvBlock one = new KvBlock(1, 1, 8);
    one.reshape(1, 4);
    byte[] bytes = one.snapshot(0, 0, 4).encode();
    assertThatThrownBy(() -> KvSnapshot.decode(java.util.Arrays.copyOf(bytes, bytes.length - 1)))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("does not match");
    KvBlock other = new KvBlock(2, 1, 8);
    other.reshape(1, 8);
    assertThatThrownBy(() -> other.restore(KvSnapshot.decode(bytes), 0, 0))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("into a block of 2");
    KvBlock small = new KvBlock(1, 1, 8);
    small.reshape(1, 3);
    assertThatThrownBy(() -> small.restore(KvSnapshot.decode(bytes), 0, 0))
        .isInstanceOf(IndexOutOfBoundsException.class);
  }
}
