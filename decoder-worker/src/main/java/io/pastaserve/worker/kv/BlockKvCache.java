package io.pastaserve.worker.kv;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

/**
 * The KV cache of the model contract's graph in {@link KvBlock}s, wherever their {@link KvMemory} is: host memory
 * off the Java heap on the CPU, device memory on a GPU (where every copy below is a device-to-device copy). The
 * decode batch is two ping-pong blocks: the model reads one and writes the other, which becomes the batch. A
 * prefill pass gathers its rows' pasts into a block of its own (or reads a batch row in place) and writes another.
 * A span that leaves the batch, or whose cache is in the prefill output, copies its columns into a block of its own
 * from the {@link KvAllocator}. A fork shares
 * its parent's columns by reference until one of them moves; a join appends references to each fork's own columns.
 * Nothing is shared across the batch's rows: every row holds its span's whole past.
 *
 * <p>Owned by the scheduler thread: it alone calls this class, which alone mutates the blocks and the {@link KvSeq}s.
 */
public final class BlockKvCache extends RunKvCache {

  /** The decode batch: {@code (rows, kvHeads, columns, headDim)} per layer, every row right-aligned. */
  private KvBlock cur;
  /** Where the next decode pass writes, or the next batch is gathered. */
  private KvBlock alt;
  /** A prefill pass's gathered pasts, right-aligned. */
  private final KvBlock prefillPast;
  /** A prefill pass's output: pasts and the chunks fed. */
  private final KvBlock prefillPresent;

  /**
   * A cache whose transient blocks come from {@code blocks} (the model's layout) and whose parked sequences get
   * theirs from {@code allocator}.
   */
  public BlockKvCache(Supplier<KvBlock> blocks, KvAllocator allocator) {
    super(allocator);
    this.cur = blocks.get();
    this.alt = blocks.get();
    this.prefillPast = blocks.get();
    this.prefillPresent = blocks.get();
    cur.reshape(0, 0);
  }

  @Override
  boolean transientBlock(KvBlock b) {
    return b == cur || b == alt || b == prefillPast || b == prefillPresent;
  }

  @Override
  public KvPass decodePass() {
    return new KvPass(cur, alt, cur.columns());
  }

  @Override
  public void decoded(List<KvSeq> rows) {
    swapBlocks();
    for (KvSeq s : rows) {
      s.length++;
    }
  }

  @Override
  public KvPass prefillPass(List<KvSeq> rows, boolean inPlace) {
    int n = rows.size();
    // one row whose whole past is a batch row (a fork of a span in the batch, usually): read that row in
    // place instead of gathering a copy; its masked left padding comes along, masked
    List<KvRun> only = n == 1 && inPlace ? currentRuns(rows.get(0)) : List.of();
    boolean readInPlace = only.size() == 1 && only.get(0).block() == cur
        && only.get(0).start() + only.get(0).length() == cur.columns();
    if (readInPlace) {
      return new KvPass(KvBlock.rowOf(cur, only.get(0).row()), prefillPresent, cur.columns());
    }
    int pastColumns = rows.stream().mapToInt(s -> s.length).max().orElse(0);
    prefillPast.reshape(n, pastColumns);
    for (int i = 0; i < n; i++) {
      KvSeq s = rows.get(i);
      copyRuns(currentRuns(s), prefillPast, i, pastColumns - s.length);
    }
    return new KvPass(prefillPast, prefillPresent, pastColumns);
  }

  @Override
  public void prefilled(List<KvSeq> rows, List<Integer> chunks, KvPass pass) {
    for (int i = 0; i < rows.size(); i++) {
      KvSeq s = rows.get(i);
      int chunk = chunks.get(i);
      s.row = -1;
      s.runs = new ArrayList<>(List.of(new KvRun(prefillPresent, i, pass.pastColumns() - s.length,
          s.length + chunk)));
      s.length += chunk;
    }
  }

  @Override
  public void gatherBatch(List<KvSeq> next) {
    int columns = next.stream().mapToInt(s -> s.length).max().orElse(0);
    alt.reshape(next.size(), columns);
    for (int i = 0; i < next.size(); i++) {
      KvSeq s = next.get(i);
      copyRuns(currentRuns(s), alt, i, columns - s.length);
    }
  }

  @Override
  public void installBatch(List<KvSeq> next) {
    for (int i = 0; i < next.size(); i++) {
      KvSeq s = next.get(i);
      s.row = i;
      s.runs = new ArrayList<>();
    }
    swapBlocks();
  }

  @Override
  public void clearBatch() {
    cur.reshape(0, 0);
  }

  @Override
  List<KvRun> currentRuns(KvSeq s) {
    if (s.inBatch()) {
      return List.of(new KvRun(cur, s.row, cur.columns() - s.length, s.length));
    }
    return s.runs;
  }

  private void swapBlocks() {
    KvBlock t = cur;
    cur = alt;
    alt = t;
  }
}
