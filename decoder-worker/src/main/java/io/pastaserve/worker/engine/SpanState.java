package io.pastaserve.worker.engine;

import io.pastaserve.common.lang.PastaEvent;
import io.pastaserve.common.lang.PastaParser;
import io.pastaserve.common.lang.SpanId;
import io.pastaserve.worker.kv.KvBlock;
import io.pastaserve.worker.model.Detokenizer;
import io.pastaserve.worker.sampling.SpanDraws;
import java.util.ArrayList;
import java.util.List;

/** One span of a running request: its program state, its pending input and where its cache lives. */
final class SpanState {

  enum Status {
    /** Decoding (or being prefilled). */
    ACTIVE,
    /** Feeding its closer; done once it is fed. */
    FINISHING,
    /** At a sync: waits for its outstanding forks, with the next token pending. */
    WAIT_FORKS,
    /** Serial mode: waits for the fork it just started. */
    WAIT_CHILD,
    /** Has ended its own decoding; waits for its outstanding forks before it is done. */
    ENDED,
    /** Finished; a fork's cache waits for its parent's join. */
    DONE
  }

  /** Columns {@code [start, start + length)} of row {@code row} of {@code block}. */
  record Run(KvBlock block, int row, int start, int length) {

    /** Columns {@code [from, from + length)} of a list of runs. */
    static List<Run> slice(List<Run> runs, int from, int length) {
      List<Run> out = new ArrayList<>();
      int skip = from;
      int left = length;
      for (Run run : runs) {
        if (left == 0) {
          break;
        }
        if (skip >= run.length()) {
          skip -= run.length();
          continue;
        }
        int take = Math.min(run.length() - skip, left);
        out.add(new Run(run.block(), run.row(), run.start() + skip, take));
        left -= take;
        skip = 0;
      }
      return out;
    }
  }

  final RequestState request;
  final SpanId id;
  final SpanState parent;
  final int depth;
  final PastaParser parser;
  final Detokenizer detokenizer;
  /** The random number for each token it chooses, by index. */
  final SpanDraws draws;
  /** Forced tokens (replay), or null. */
  final int[] forced;
  int forcedNext;
  /** The token being interpreted was forced: what it leads to (a fork, an inline chunk) has happened before. */
  boolean lastForced;

  Status status = Status.ACTIVE;
  /** When it began waiting for forks (System.nanoTime). */
  long waitSince;
  /** Tokens to feed, with their positions. */
  final IntList pendingTokens = new IntList();
  final IntList pendingPositions = new IntList();
  /** Position of the next token this span decodes. */
  int nextPosition;

  /** Cache columns this span sees (its past). */
  int kvLength;
  /** Columns inherited from the parent (and the duplicated promise token): not the fork's own. */
  int prefixLength;
  /** The prefix this fork reserved of the cache budget, given back when it is joined. */
  int prefixReserved;
  /** Row in the decode batch, or -1. */
  int row = -1;
  /** Where the cache lives when not in the batch. */
  List<Run> runs = new ArrayList<>();

  /** Forks started and not yet joined, in promise order. */
  final List<SpanState> outstanding = new ArrayList<>();
  int forkCount;
  /** Open inline async blocks (over-limit promises or model-written openers) in this span. */
  int inlineDepth;
  /** The opener fed to this fork. */
  final PastaEvent.AsyncOpen opener;
  /** Whether the span wrote its own closer. */
  boolean closedByModel;
  /** A sync was just decoded with forks outstanding: park after the next token is chosen. */
  boolean syncArmed;
  /** The token chosen right after a sync, fed once the forks are joined. */
  int deferredToken;

  int decoded;
  /** Tokens reported to the listener. */
  int reported;
  /** The parser and detokenizer have been flushed: the span writes nothing more. */
  boolean flushed;
  /** The span's own output: text and tag strings, and SpanState markers where forks stand. */
  final List<Object> transcript = new ArrayList<>();
  /** Critical-path marks: {decodedAt, kind (0 fork, 1 sync), fork index}. */
  final List<int[]> marks = new ArrayList<>();
  final List<SpanState> children = new ArrayList<>();

  SpanState(RequestState request, SpanId id, SpanState parent, PastaEvent.AsyncOpen opener, PastaParser parser,
      Detokenizer detokenizer, SpanDraws draws, int[] forced) {
    this.request = request;
    this.id = id;
    this.parent = parent;
    this.depth = id.depth();
    this.opener = opener;
    this.parser = parser;
    this.detokenizer = detokenizer;
    this.draws = draws;
    this.forced = forced;
  }

  boolean runnable() {
    return status == Status.ACTIVE || status == Status.FINISHING;
  }

  boolean inBatch() {
    return row >= 0;
  }

  /** Forgets where its cache is: the blocks it used are someone else's, or nobody's, now. */
  void dropCache() {
    row = -1;
    runs = new ArrayList<>();
    kvLength = 0;
    prefixLength = 0;
  }

  void feed(int token, int position) {
    pendingTokens.add(token);
    pendingPositions.add(position);
  }

  @Override
  public String toString() {
    return request.id + "/" + id + "(" + status + ")";
  }

  /** A growable list of ints. */
  static final class IntList {
    private int[] values = new int[8];
    private int size;

    void add(int v) {
      if (size == values.length) {
        values = java.util.Arrays.copyOf(values, size * 2);
      }
      values[size++] = v;
    }

    int get(int i) {
      return values[i];
    }

    void set(int i, int v) {
      values[i] = v;
    }

    int size() {
      return size;
    }

    boolean isEmpty() {
      return size == 0;
    }

    /** Drops the first {@code n} values. */
    void removeFirst(int n) {
      System.arraycopy(values, n, values, 0, size - n);
      size -= n;
    }

    void clear() {
      size = 0;
    }
  }
}
