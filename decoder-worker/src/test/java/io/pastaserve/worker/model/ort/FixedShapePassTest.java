package io.pastaserve.worker.model.ort;

import static org.assertj.core.api.Assertions.assertThat;

import io.pastaserve.worker.engine.Engine;
import io.pastaserve.worker.engine.EngineConfig;
import io.pastaserve.worker.kv.KvBlock;
import io.pastaserve.worker.model.ExecutionProvider;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A static-cache model's decode steps and forks' openers through {@link FixedShapePass}es against the same passes
 * run like any other, on the CPU: the same logits and the same cache, pass for pass, for rows of different lengths,
 * fewer rows than slots, openers shorter than the fixed chunk, and more caches than a pass binds.
 */
class FixedShapePassTest {

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
    long before = fixed.fixedShapePassesRun();
    for (int step = 0; step < 12; step++) {
      assertThat(a.step(step)).as("logits at step %d", step).containsExactly(b.step(step));
    }
    assertThat(a.cache()).containsExactly(b.cache());
    assertThat(fixed.fixedShapePassesRun() - before).as("steps run fixed").isEqualTo(12);
    assertThat(unfixed.fixedShapePassesRun()).as("passes the unfixed runner ran fixed").isZero();
  }

  @Test
  void openersOnOneSlot_giveTheUnfixedPassesLogitsAndCache_exactly() {
    Rows a = new Rows(fixed, new int[] {6, 2, 11, 4});
    Rows b = new Rows(unfixed, new int[] {6, 2, 11, 4});
    int[] openers = {7, 1 + BoundModelRunner.CHUNK_TOKENS, 3, BoundModelRunner.CHUNK_TOKENS};
    long before = fixed.fixedShapePassesRun();
    for (int r = 0; r < openers.length; r++) {
      assertThat(a.opener(r, openers[r])).as("logits of an opener of %d tokens on row %d", openers[r], r)
          .containsExactly(b.opener(r, openers[r]));
    }
    assertThat(fixed.fixedShapePassesRun() - before).as("openers run fixed (all but the one too long)")
        .isEqualTo(3);
    assertThat(a.step(0)).containsExactly(b.step(0));
    assertThat(a.cache()).containsExactly(b.cache());
  }

  @Test
  void moreCachesThanAPassKeepsBound_eachStillRunsFixed_andExactly() {
    int blocks = FixedShapePass.MAX_BINDINGS + 2;
    Rows[] a = new Rows[blocks];
    Rows[] b = new Rows[blocks];
    long before = fixed.fixedShapePassesRun();
    for (int round = 0; round < 2; round++) {
      for (int i = 0; i < blocks; i++) {
        if (round == 0) {
          int[] lengths = {2 + i % 9, 7, 1 + i % 5, 4};
          a[i] = new Rows(fixed, lengths);
          b[i] = new Rows(unfixed, lengths);
        }
        assertThat(a[i].step(round)).as("block %d, round %d", i, round).containsExactly(b[i].step(round));
      }
    }
    // each block: its 4 rows' prefills (each a chunk on one slot) and 2 steps
    assertThat(fixed.fixedShapePassesRun() - before).as("passes run fixed").isEqualTo(6L * blocks);
  }

  @Test
  void anEngineOverAStaticCacheModel_opensItsFixedShapePasses_whenItStarts() {
    int columns = fixed.config().maxPositions();
    assertThat(fixed.hasFixedShape(3, 1, columns)).isFalse();
    try (Engine engine = new Engine(fixed, EngineConfig.defaults().withMaxBatch(3))) {
      assertThat(fixed.hasFixedShape(3, 1, columns)).as("the decode step's").isTrue();
      assertThat(fixed.hasFixedShape(1, BoundModelRunner.CHUNK_TOKENS, columns)).as("the openers'").isTrue();
      assertThat(engine.config().maxBatch()).isEqualTo(3);
    }
  }

  /** Rows of a block of {@link #SLOTS} slots, prefilled to {@code lengths}, then decoding or fed openers. */
  private static final class Rows {
    final BoundModelRunner runner;
    final int[] lengths;
    final KvBlock block;

    Rows(BoundModelRunner runner, int[] lengths) {
      this.runner = runner;
      this.lengths = new int[lengths.length];
      this.block = runner.newKvBlock();
      block.reshape(SLOTS, COLUMNS);
      for (int r = 0; r < lengths.length; r++) {
        opener(r, lengths[r]);
      }
    }

    /** {@code n} tokens on row {@code r}'s past, in its slot alone; the logits of all of them. */
    float[] opener(int r, int n) {
      int vocab = runner.config().vocabSize();
      long[] ids = new long[n];
      long[] pos = new long[n];
      long[] mask = new long[lengths[r] + n];
      for (int i = 0; i < n; i++) {
        ids[i] = 4 + ((lengths[r] + i) * 7919L + r * 31L) % (vocab - 4);
        pos[i] = lengths[r] + i;
      }
      Arrays.fill(mask, 1L);
      KvBlock slot = KvBlock.rowOf(block, r);
      float[] out = new float[n * vocab];
      runner.forward(1, n, ids, pos, mask, lengths[r], slot, slot).get(0, out);
      lengths[r] += n;
      return out;
    }

    /** One token on every row. */
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
      int heads = runner.config().kvHeads();
      int dim = runner.config().headDim();
      float[] out = new float[runner.config().layers() * 2 * Arrays.stream(lengths).sum() * heads * dim];
      int at = 0;
      for (int l = 0; l < runner.config().layers(); l++) {
        for (int kv = 0; kv < 2; kv++) {
          FloatBuffer t = block.tensor(l, kv);
          for (int r = 0; r < lengths.length; r++) {
            for (int h = 0; h < heads; h++) {
              for (int c = 0; c < lengths[r]; c++) {
                t.get(((r * heads + h) * COLUMNS + c) * dim, out, at, dim);
                at += dim;
              }
            }
          }
        }
      }
      return out;
    }
  }
}
