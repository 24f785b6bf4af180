package io.pastaserve.worker.kv;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

/**
 * The KV cache of a static-cache model (docs/model-contract.md, "Static-cache variant"): every block has a fixed
 * shape, {@code slots} rows of {@code columns} columns, and a span in a block holds one row (its slot) from column 0
 * (left-aligned). A pass reads and writes the same block: the model writes each row's new keys and values in place,
 * after the row's past. Nothing moves but what forks, joins and batch changes move, as in {@link RunKvCache}:
 * a fork shares its parent's columns by reference until one of them moves, a join appends references to each fork's
 * own columns, and a span that leaves the batch (or whose cache is in the prefill block) copies its columns into a
 * block of its own from the {@link KvAllocator}.
 *
 * <p>Because every pass has the same shape and a row's columns do not depend on the other rows, a span's arithmetic
 * does not depend on what else is in its batch. Owned by the scheduler thread.
 */
public final class SlotKvCache extends RunKvCache {

  private final int columns;
  /** The decode batch: row {@code i} is the slot of the batch's {@code i}-th span. */
  private KvBlock cur;
  /** Where the next batch is gathered. */
  private KvBlock alt;
  /** A prefill pass's rows, gathered; the pass writes its chunks into them in place. */
  private final KvBlock prefill;
  /** The spans of the current batch, by slot (for the longest row of a decode pass). */
  private List<KvSeq> batch = new ArrayList<>();

  /**
   * A cache of blocks from {@code blocks} (the model's layout), each {@code slots} rows of {@code columns} columns;
   * parked sequences get blocks of their own from {@code allocator}.
   */
  public SlotKvCache(Supplier<KvBlock> blocks, KvAllocator allocator, int slots, int columns) {
    super(allocator);
    this.columns = columns;
    this.cur = blocks.get();
    this.alt = blocks.get();
    this.prefill = blocks.get();
    for (KvBlock b : new KvBlock[] {cur, alt, prefill}) {
      b.reshape(slots, columns);
    }
  }

  @Override
  boolean transientBlock(KvBlock b) {
    return b == cur || b == alt || b == prefill;
  }

  /** The batch block, read and written in place; its past columns are the longest row's. */
  @Override
  public KvPass decodePass() {
    return new KvPass(cur, cur, longest());
  }

  @Override
  public void decoded(List<KvSeq> rows) {
    for (KvSeq s : rows) {
      s.length++;
    }
  }

  /** The rows gathered into the prefill block's first slots (never read in place: the pass writes its rows). */
  @Override
  public KvPass prefillPass(List<KvSeq> rows, boolean inPlace) {
    int pastColumns = 0;
    for (int i = 0; i < rows.size(); i++) {
      KvSeq s = rows.get(i);
      copyInto(prefill, i, currentRuns(s));
      pastColumns = Math.max(pastColumns, s.length);
    }
    return new KvPass(prefill, prefill, pastColumns);
  }

  @Override
  public void prefilled(List<KvSeq> rows, List<Integer> chunks, KvPass pass) {
    for (int i = 0; i < rows.size(); i++) {
      KvSeq s = rows.get(i);
      s.row = -1;
      s.length += chunks.get(i);
      s.runs = new ArrayList<>(List.of(new KvRun(prefill, i, 0, s.length)));
    }
  }

  @Override
  public void gatherBatch(List<KvSeq> next) {
    if (next.size() > alt.rows()) {
      throw new IllegalArgumentException(next.size() + " rows for a batch of " + alt.rows() + " slots");
    }
    int i = 0;
    while (i < next.size()) {
      KvSeq s = next.get(i);
      if (!s.inBatch()) {
        copyInto(alt, i, currentRuns(s));
        i++;
        continue;
      }
      // rows that follow each other in the batch block and in the next one move together: a copy per tensor
      int j = i + 1;
      int width = s.length;
      while (j < next.size() && next.get(j).inBatch() && next.get(j).row == s.row + (j - i)) {
        width = Math.max(width, next.get(j).length);
        j++;
      }
      KvBlock.copyRows(cur, s.row, alt, i, j - i, width);
      i = j;
    }
  }

  @Override
  public void installBatch(List<KvSeq> next) {
    for (int i = 0; i < next.size(); i++) {
      KvSeq s = next.get(i);
      s.row = i;
      s.runs = new ArrayList<>();
    }
    batch = new ArrayList<>(next);
    KvBlock t = cur;
    cur = alt;
    alt = t;
  }

  @Override
  public void clearBatch() {
    batch = new ArrayList<>();
  }

  private int longest() {
    int longest = 0;
    for (KvSeq s : batch) {
      if (s.inBatch()) {
        longest = Math.max(longest, s.length);
      }
    }
    return longest;
  }

  /** Copies {@code runs} to slot {@code row} of {@code block} from column 0. */
  private void copyInto(KvBlock block, int row, List<KvRun> runs) {
    if (runs.stream().mapToInt(KvRun::length).sum() > columns) {
      throw new IllegalStateException("a span of more than " + columns + " cached tokens");
    }
    copyRuns(runs, block, row, 0);
  }

  @Override
  List<KvRun> currentRuns(KvSeq s) {
    if (s.inBatch()) {
      return List.of(new KvRun(cur, s.row, 0, s.length));
    }
    return s.runs;
  }
}
