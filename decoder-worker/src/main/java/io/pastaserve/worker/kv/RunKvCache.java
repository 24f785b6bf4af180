package io.pastaserve.worker.kv;

import io.pastaserve.common.lang.SpanId;
import java.util.ArrayList;
import java.util.List;

/**
 * What both cache layouts keep the same way: a sequence not in the batch is a list of runs (pieces of blocks); a fork
 * shares its parent's runs by reference until one of them moves, a join appends references to each fork's own
 * columns, and a sequence that must leave the layout's transient blocks copies its columns into a block of its own
 * from the {@link KvAllocator}. Where a batch row's columns are, and which blocks are transient, is the layout's.
 */
abstract sealed class RunKvCache implements KvCache permits BlockKvCache, SlotKvCache {

  private final KvAllocator allocator;

  RunKvCache(KvAllocator allocator) {
    this.allocator = allocator;
  }

  /** Where a sequence's columns are now. */
  abstract List<KvRun> currentRuns(KvSeq s);

  /** Whether {@code block} is reused by the next pass or batch, so a sequence must not be left in it. */
  abstract boolean transientBlock(KvBlock block);

  @Override
  public KvSeq open() {
    return new KvSeq();
  }

  @Override
  public KvSeq fork(KvSeq parent, int shared) {
    KvSeq child = new KvSeq();
    child.runs = new ArrayList<>(currentRuns(parent));
    child.length = parent.length;
    child.prefix = parent.length + shared;
    return child;
  }

  @Override
  public KvSnapshot snapshot(KvSeq seq, String requestId, SpanId span) {
    List<KvRun> runs = currentRuns(seq);
    if (runs.size() == 1) {
      KvRun run = runs.get(0);
      return run.block().snapshot(run.row(), run.start(), run.length());
    }
    KvBlock gathered = allocator.allocate(requestId, span, seq.length);
    copyRuns(runs, gathered, 0, 0);
    return gathered.snapshot(0, 0, seq.length);
  }

  @Override
  public KvSeq restore(KvSnapshot parent, int shared, String requestId, SpanId span) {
    KvBlock block = allocator.allocate(requestId, span, parent.columns());
    block.restore(parent, 0, 0);
    KvSeq child = new KvSeq();
    child.runs = new ArrayList<>(List.of(new KvRun(block, 0, 0, parent.columns())));
    child.length = parent.columns();
    child.prefix = parent.columns() + shared;
    return child;
  }

  @Override
  public void join(KvSeq parent, List<KvSeq> forks) {
    leaveBatch(parent);
    List<KvRun> runs = new ArrayList<>(currentRuns(parent));
    for (KvSeq f : forks) {
      int own = f.length - f.prefix;
      runs.addAll(KvRun.slice(currentRuns(f), f.prefix, own));
      parent.length += own;
      free(f);
    }
    parent.runs = runs;
  }

  @Override
  public void free(KvSeq seq) {
    seq.row = -1;
    seq.runs = new ArrayList<>();
    seq.length = 0;
    seq.prefix = 0;
  }

  @Override
  public void leaveBatch(KvSeq seq) {
    if (seq.inBatch()) {
      seq.runs = new ArrayList<>(currentRuns(seq));
      seq.row = -1;
    }
  }

  @Override
  public boolean mustMove(KvSeq seq) {
    if (seq.inBatch()) {
      return true;
    }
    for (KvRun run : seq.runs) {
      if (transientBlock(run.block())) {
        return true;
      }
    }
    return false;
  }

  @Override
  public void moveToOwn(KvSeq seq, String requestId, SpanId span, boolean ownOnly) {
    int skip = ownOnly ? seq.prefix : 0;
    int length = seq.length - skip;
    List<KvRun> source = KvRun.slice(currentRuns(seq), skip, length);
    KvBlock block = allocator.allocate(requestId, span, length);
    copyRuns(source, block, 0, 0);
    seq.row = -1;
    seq.runs = new ArrayList<>(List.of(new KvRun(block, 0, 0, length)));
    seq.length = length;
    if (ownOnly) {
      seq.prefix = 0;
    }
  }

  /** Copies {@code runs}, in order, into row {@code row} of {@code block} from column {@code column}. */
  static void copyRuns(List<KvRun> runs, KvBlock block, int row, int column) {
    for (KvRun run : runs) {
      KvBlock.copyColumns(run.block(), run.row(), run.start(), block, row, column, run.length());
      column += run.length();
    }
  }
}
