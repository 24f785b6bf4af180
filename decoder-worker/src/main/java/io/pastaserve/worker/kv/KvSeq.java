package io.pastaserve.worker.kv;

import java.util.ArrayList;
import java.util.List;

/**
 * One span's cache as a {@link KvCache} keeps it: how many columns the span sees (its past), how many of them it
 * inherited from its parent, and where they are. Callers read it; only its cache changes it (on the scheduler
 * thread). Where the columns live (a batch row, a block of its own, pieces of other sequences' blocks) is the cache's
 * business: nothing here hands out memory.
 */
public final class KvSeq {

  /** Columns the span sees. */
  int length;
  /** Columns inherited from the parent (and the promise token both feed): not the span's own. */
  int prefix;
  /** Row in the decode batch, or -1. */
  int row = -1;
  /** Where the columns are when not in the batch. */
  List<KvRun> runs = new ArrayList<>();

  KvSeq() {
  }

  /** Cache columns the span sees (its past), in tokens. */
  public int length() {
    return length;
  }

  /** Of those, the columns inherited from its parent: a fork's own columns follow them. */
  public int prefixLength() {
    return prefix;
  }

  /** Whether the span holds a row of the decode batch. */
  public boolean inBatch() {
    return row >= 0;
  }
}
