package io.pastaserve.worker.model.ort;

import static org.assertj.core.api.Assertions.assertThat;

import io.pastaserve.worker.kv.KvBlock;
import io.pastaserve.worker.model.ExecutionProvider;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A static-cache model's decode steps through the fixed-shape {@link DecodeGraph} against the same steps run like any
 * other pass, on the CPU: the same logits and the same cache, step for step, for rows of different lengths and fewer
 * rows than slots, on more blocks than a decode graph binds at once.
 */
class DecodeGraphTest {

  static final Path STATIC = Path.of("src/test/resources/models/static-pair/static");
  static final int SLOTS = 4;
  static final int COLUMNS = 48;

  static BoundModelRunner fixed;
  static BoundModelRunner unfixed;

  @BeforeAll
  static void open() {
    fixed = BoundModelRunner.open(STATIC, ExecutionProvider.CPU, 1, true, true);
    unfixed = BoundModelRunner.open(STATIC, ExecutionProvider.CPU, 1, true, false);
  }

  @AfterAll
  static void close() {
    fixed.close();
    unfixed.close();
  }

  @Test
  void decodeSteps_giveTheUnfixedPassesLogitsAndCache_exactly() {
    Rows a = new Rows(fixed, new int[] {5, 3, 9});
    Rows b = new Rows(unfixed, new int[] {5, 3, 9});
    for (int step = 0; step < 12; step++) {
      assertThat(a.step(step)).as("logits at step %d", step).containsExactly(b.step(step));
    }
    assertThat(a.cache()).containsExactly(b.cache());
    assertThat(fixed.decodeGraphsMade()).as("decode graphs of the fixed runner").isPositive();
    assertThat(unfixed.decodeGraphsMade()).as("decode graphs of the unfixed runner").isZero();
  }

  @Test
  void moreBlocksThanABindingHolds_eachStillDecodesExactly() {
    int blocks = DecodeGraph.MAX_BLOCKS + 2;
    Rows[] a = new Rows[blocks];
    Rows[] b = new Rows[blocks];
    for (int i = 0; i < blocks; i++) {
      int[] lengths = {2 + i, 7, 1 + 2 * i, 4};
      a[i] = new Rows(fixed, lengths);
      b[i] = new Rows(unfixed, lengths);
    }
    for (int round = 0; round < 3; round++) {
      for (int i = 0; i < blocks; i++) {
        assertThat(a[i].step(round)).as("block %d, round %d", i, round).containsExactly(b[i].step(round));
      }
    }
  }

  /** Rows of a block of {@link #SLOTS} slots, prefilled to {@code lengths}, decoding one token each per step. */
  private static final class Rows {
    final BoundModelRunner runner;
    final int[] lengths;
    final KvBlock block;

    Rows(BoundModelRunner runner, int[] lengths) {
      this.runner = runner;
      this.lengths = lengths.clone();
      this.block = runner.newKvBlock();
      block.reshape(SLOTS, COLUMNS);
      int vocab = runner.config().vocabSize();
      for (int r = 0; r < lengths.length; r++) {
        int n = lengths[r];
        long[] ids = new long[n];
        long[] pos = new long[n];
        long[] ones = new long[n];
        for (int i = 0; i < n; i++) {
          ids[i] = 4 + (i * 7919L + r * 31L) % (vocab - 4);
          pos[i] = i;
          ones[i] = 1;
        }
        KvBlock slot = KvBlock.rowOf(block, r);
        runner.forward(1, n, ids, pos, ones, 0, slot, slot);
      }
    }

    float[] step(int step) {
      int rows = lengths.length;
      int vocab = runner.config().vocabSize();
      int past = Arrays.stream(lengths).max().orElse(0);
      long[] ids = new long[rows];
      long[] pos = new long[rows];
      long[] mask = new long[rows * (past + 1)];
      for (int r = 0; r < rows; r++) {
        ids[r] = 4 + (step * 131L + r * 17L) % (vocab - 4);
        pos[r] = lengths[r];
        Arrays.fill(mask, r * (past + 1), r * (past + 1) + lengths[r], 1L);
        mask[r * (past + 1) + past] = 1;
      }
      FloatBuffer logits = runner.forward(rows, 1, ids, pos, mask, past, block, block);
      float[] out = new float[rows * vocab];
      logits.get(0, out);
      for (int r = 0; r < rows; r++) {
        lengths[r]++;
      }
      return out;
    }

    /** Every row's cache up to its length. */
    float[] cache() {
      int rows = lengths.length;
      int cols = Arrays.stream(lengths).sum();
      int width = runner.config().kvHeads() * runner.config().headDim();
      float[] out = new float[runner.config().layers() * 2 * cols * width];
      int at = 0;
      for (int l = 0; l < runner.config().layers(); l++) {
        for (int kv = 0; kv < 2; kv++) {
          FloatBuffer t = block.tensor(l, kv);
          for (int r = 0; r < rows; r++) {
            for (int h = 0; h < runner.config().kvHeads(); h++) {
              for (int c = 0; c < lengths[r]; c++) {
                int base = ((r * runner.config().kvHeads() + h) * COLUMNS + c) * runner.config().headDim();
                for (int d = 0; d < runner.config().headDim(); d++) {
                  out[at++] = t.get(base + d);
                }
              }
            }
          }
        }
      }
      return out;
    }
  }
}
