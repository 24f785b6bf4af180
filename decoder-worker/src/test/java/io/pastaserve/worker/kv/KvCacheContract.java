package io.pastaserve.worker.kv;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pastaserve.common.lang.SpanId;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/**
 * What every {@link KvCache} does, whatever memory holds it: the columns a span sees are the tokens fed into it, in
 * order, through decode and prefill passes, forks, joins, moves and batch changes. A pass here writes each token's
 * id as its key (and the id plus one half as its value), as the model writes its keys and values; reading a
 * sequence back gathers it as a prefill pass does, which changes no sequence. The model writes as its graph does:
 * the contract's graph a present that is the past plus the tokens fed, every row right-aligned; the static-cache
 * variant each row's tokens into its own slot, after its past, in place. Implementations extend this class with
 * their cache.
 */
abstract class KvCacheContract {

  /** A cache in blocks of one layer, one head, one float per position; parked sequences allocate with {@code a}. */
  abstract KvCache newCache(Supplier<KvBlock> blocks, KvAllocator allocator);

  /** Whether the cache is for the static-cache variant (slots, left-aligned, written in place). */
  boolean slots() {
    return false;
  }

  private static final Supplier<KvBlock> BLOCKS = () -> new KvBlock(1, 1, 1);
  private final KvCache cache = newCache(BLOCKS, KvAllocator.of(BLOCKS));

  @Test
  void aSequenceSeesTheTokensFedIntoIt_throughPrefillAndDecode() {
    KvSeq seq = cache.open();
    prefill(List.of(seq), new int[][] {{1, 2, 3}});
    assertThat(seq.length()).isEqualTo(3);
    batch(seq);
    decode(List.of(seq), 4);
    assertThat(read(seq)).containsExactly(1, 2, 3, 4);
  }

  @Test
  void aFork_seesItsParentsColumns_andTheJoinAppendsOnlyTheForksOwn() {
    KvSeq parent = cache.open();
    prefill(List.of(parent), new int[][] {{1, 2, 3}});
    batch(parent);
    KvSeq fork = cache.fork(parent, 0);
    assertThat(fork.length()).isEqualTo(3);
    assertThat(fork.prefixLength()).isEqualTo(3);
    prefill(List.of(fork), new int[][] {{10, 11}});
    batch(parent, fork);
    decode(List.of(parent, fork), 4, 12);
    assertThat(read(fork)).containsExactly(1, 2, 3, 10, 11, 12);
    // the parent decodes on; the finished fork leaves the batch with only its own columns
    assertThat(cache.mustMove(fork)).isTrue();
    cache.moveToOwn(fork, "r", SpanId.MAIN.child(1), true);
    assertThat(fork.length()).isEqualTo(3);
    assertThat(fork.prefixLength()).isZero();
    batch(parent);
    decode(List.of(parent), 5);
    cache.join(parent, List.of(fork));
    assertThat(fork.length()).isZero();
    assertThat(parent.inBatch()).isFalse();
    assertThat(read(parent)).containsExactly(1, 2, 3, 4, 5, 10, 11, 12);
  }

  @Test
  void aForkOfABatchRow_startsFromThatRow_andItsJoinTakesItsOwnColumnsFromTheBatch() {
    KvSeq other = cache.open();
    KvSeq parent = cache.open();
    prefill(List.of(other, parent), new int[][] {{7, 8}, {1, 2}});
    batch(other, parent);
    // the promise token, still to be fed by the parent, is fed by the fork too (its prefix), then its opener
    KvSeq fork = cache.fork(parent, 1);
    prefill(List.of(fork), new int[][] {{3, 20}});
    assertThat(fork.prefixLength()).isEqualTo(3);
    batch(other, parent, fork);
    decode(List.of(other, parent, fork), 9, 3, 21);
    assertThat(read(fork)).containsExactly(1, 2, 3, 20, 21);
    cache.join(parent, List.of(fork));
    assertThat(read(parent)).containsExactly(1, 2, 3, 20, 21);
    assertThat(read(other)).containsExactly(7, 8, 9);
  }

  @Test
  void aSnapshotOfAJoinedSequence_restoredInAnotherCache_isAForkOfThoseColumns() {
    KvSeq parent = cache.open();
    prefill(List.of(parent), new int[][] {{1, 2, 3}});
    batch(parent);
    KvSeq fork = cache.fork(parent, 0);
    prefill(List.of(fork), new int[][] {{10, 11}});
    cache.moveToOwn(fork, "r", SpanId.MAIN.child(1), true);
    batch(parent);
    decode(List.of(parent), 4);
    cache.join(parent, List.of(fork));
    // the joined parent's columns are in pieces: the snapshot gathers them, and changes nothing
    KvSnapshot columns = cache.snapshot(parent, "r", SpanId.MAIN.child(2));
    assertThat(columns.columns()).isEqualTo(6);
    assertThat(read(parent)).containsExactly(1, 2, 3, 4, 10, 11);

    KvCache there = newCache(BLOCKS, KvAllocator.of(BLOCKS));
    KvSeq restored = there.restore(columns, 1, "r", SpanId.MAIN.child(2));
    assertThat(restored.length()).isEqualTo(6);
    assertThat(restored.prefixLength()).isEqualTo(7);
    // the promise token both feed, then the opener
    prefill(there, List.of(restored), new int[][] {{5, 20}});
    assertThat(read(there, restored)).containsExactly(1, 2, 3, 4, 10, 11, 5, 20);
  }

  @Test
  void aSequenceMovedToItsOwnStorage_keepsItsColumns_whileTheBatchIsReused() {
    KvSeq kept = cache.open();
    KvSeq other = cache.open();
    prefill(List.of(kept, other), new int[][] {{1, 2}, {7, 8}});
    batch(kept, other);
    decode(List.of(kept, other), 3, 9);
    assertThat(cache.mustMove(kept)).isTrue();
    cache.moveToOwn(kept, "r", SpanId.MAIN, false);
    assertThat(cache.mustMove(kept)).isFalse();
    batch(other);
    decode(List.of(other), 10);
    decode(List.of(other), 11);
    assertThat(read(kept)).containsExactly(1, 2, 3);
    assertThat(read(other)).containsExactly(7, 8, 9, 10, 11);
  }

  @Test
  void aMoveWhoseAllocationFails_leavesTheSequenceAsItWas() {
    AtomicBoolean full = new AtomicBoolean();
    KvAllocator real = KvAllocator.of(BLOCKS);
    KvCache tight = newCache(BLOCKS, (request, span, columns) -> {
      if (full.get()) {
        throw new OutOfMemoryError("Cannot reserve " + columns + " columns of direct buffer memory");
      }
      return real.allocate(request, span, columns);
    });
    KvSeq seq = tight.open();
    prefill(tight, List.of(seq), new int[][] {{1, 2, 3}});
    full.set(true);
    assertThatThrownBy(() -> tight.moveToOwn(seq, "r", SpanId.MAIN, false)).isInstanceOf(OutOfMemoryError.class);
    assertThat(tight.mustMove(seq)).isTrue();
    assertThat(read(tight, seq)).containsExactly(1, 2, 3);
  }

  @Test
  void aFreedSequence_seesNothing() {
    KvSeq seq = cache.open();
    prefill(List.of(seq), new int[][] {{1, 2}});
    batch(seq);
    cache.free(seq);
    assertThat(seq.length()).isZero();
    assertThat(seq.inBatch()).isFalse();
    assertThat(cache.mustMove(seq)).isFalse();
  }

  // ------------------------------------------------------------------------------------- a model, in miniature

  private void prefill(List<KvSeq> rows, int[][] tokens) {
    prefill(cache, rows, tokens);
  }

  /** A prefill pass feeding each row its tokens (all rows the same number). */
  private void prefill(KvCache cache, List<KvSeq> rows, int[][] tokens) {
    KvPass pass = cache.prefillPass(rows, true);
    write(pass, rows, tokens);
    List<Integer> chunks = new ArrayList<>();
    for (int[] t : tokens) {
      chunks.add(t.length);
    }
    cache.prefilled(rows, chunks, pass);
  }

  /** A decode pass over the batch {@code rows}, feeding row {@code i} the token {@code tokens[i]}. */
  private void decode(List<KvSeq> rows, int... tokens) {
    int[][] perRow = new int[tokens.length][];
    for (int i = 0; i < tokens.length; i++) {
      perRow[i] = new int[] {tokens[i]};
    }
    write(cache.decodePass(), rows, perRow);
    cache.decoded(rows);
  }

  private void batch(KvSeq... rows) {
    batch(cache, rows);
  }

  private static void batch(KvCache cache, KvSeq... rows) {
    cache.gatherBatch(List.of(rows));
    cache.installBatch(List.of(rows));
  }

  /** What the model does: present is past (right-aligned, as laid out) plus one column per token fed. */
  private void write(KvPass pass, List<KvSeq> rows, int[][] tokens) {
    if (slots()) {
      writeInPlace(pass, rows, tokens);
      return;
    }
    KvBlock past = pass.past();
    KvBlock present = pass.present();
    int seq = tokens[0].length;
    int pastColumns = past.columns();
    assertThat(pass.pastColumns()).isEqualTo(pastColumns);
    present.reshape(rows.size(), pastColumns + seq);
    for (int kv = 0; kv < 2; kv++) {
      FloatBuffer from = past.tensor(0, kv);
      FloatBuffer to = present.tensor(0, kv);
      for (int r = 0; r < rows.size(); r++) {
        for (int c = 0; c < pastColumns; c++) {
          to.put(r * (pastColumns + seq) + c, from.get(r * pastColumns + c));
        }
        for (int j = 0; j < seq; j++) {
          to.put(r * (pastColumns + seq) + pastColumns + j, tokens[r][j] + kv * 0.5f);
        }
      }
    }
  }

  /** What a static-cache model does: each row's tokens go into its slot after its past; nothing else changes. */
  private static void writeInPlace(KvPass pass, List<KvSeq> rows, int[][] tokens) {
    KvBlock block = pass.past();
    assertThat(pass.present()).isSameAs(block);
    for (int kv = 0; kv < 2; kv++) {
      FloatBuffer t = block.tensor(0, kv);
      for (int r = 0; r < rows.size(); r++) {
        int length = rows.get(r).length();
        for (int j = 0; j < tokens[r].length; j++) {
          t.put(r * block.columns() + length + j, tokens[r][j] + kv * 0.5f);
        }
      }
    }
  }

  private List<Integer> read(KvSeq seq) {
    return read(cache, seq);
  }

  /** The tokens {@code seq} sees, in order, as a prefill pass reads them (keys and values must agree). */
  private List<Integer> read(KvCache cache, KvSeq seq) {
    KvPass pass = cache.prefillPass(List.of(seq), false);
    FloatBuffer keys = pass.past().tensor(0, 0);
    FloatBuffer values = pass.past().tensor(0, 1);
    int columns = pass.pastColumns();
    List<Integer> tokens = new ArrayList<>();
    int first = slots() ? 0 : columns - seq.length();
    for (int c = first; c < first + seq.length(); c++) {
      assertThat(values.get(c)).isEqualTo(keys.get(c) + 0.5f);
      tokens.add((int) keys.get(c));
    }
    return tokens;
  }
}
