package io.pastaserve.worker.kv;

import java.util.ArrayList;
import java.util.List;

/** Columns {@code [start, start + length)} of row {@code row} of {@code block}: one piece of a sequence's cache. */
record KvRun(KvBlock block, int row, int start, int length) {

  /** Columns {@code [from, from + length)} of a list of runs. */
  static List<KvRun> slice(List<KvRun> runs, int from, int length) {
    List<KvRun> out = new ArrayList<>();
    int skip = from;
    int left = length;
    for (KvRun run : runs) {
      if (left == 0) {
        break;
      }
      if (skip >= run.length()) {
        skip -= run.length();
        continue;
      }
      int take = Math.min(run.length() - skip, left);
      out.add(new KvRun(run.block(), run.row(), run.start() + skip, take));
      left -= take;
      skip = 0;
    }
    return out;
  }
}
