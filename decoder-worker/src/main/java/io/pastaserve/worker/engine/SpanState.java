package io.pastaserve.worker.engine;

import io.pastaserve.common.lang.PastaEvent;
import io.pastaserve.common.lang.PastaParser;
import io.pastaserve.common.lang.SpanId;
import io.pastaserve.worker.kv.KvCache;
import io.pastaserve.worker.kv.KvSeq;
import io.pastaserve.worker.model.Detokenizer;
import io.pastaserve.worker.sampling.SpanDraws;
import java.util.ArrayList;
import java.util.List;

/**
 * One span of a running request: its program state, its pending input and the handle of its cache. The span program
 * ({@link SpanProgram}) mutates the program state, the step loop ({@link Engine}) the pending input as it is fed, and
 * the cache manager the handle; all on the scheduler thread.
 */
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
    DONE,
    /** A fork placed on another engine: waits for the tokens it decoded there, then feeds them as known tokens. */
    AWAITING_TOKENS,
    /**
     * Decodes for another engine ({@link Forcing.Fork}) and is not the span asked for: stopped where its known
     * tokens end.
     */
    STOPPED_KNOWN
  }

  final RequestState request;
  final SpanId id;
  final SpanState parent;
  final int depth;
  final PastaParser parser;
  final Detokenizer detokenizer;
  /** The random number for each token it chooses, by index. */
  final SpanDraws draws;
  /** Forced tokens (replay, resume, a remote fork's tokens once they come), or null. */
  int[] forced;
  /** Ends (end of sequence) when its forced tokens are spent: a remote fork's tokens are all it decodes. */
  boolean endAfterForced;
  /** The tokens it chose (or was forced to), in order: what it has decoded, as a resume would be given it. */
  final IntList chosen = new IntList();
  /** The index in {@link #chosen} of each token that started a fork, in order. */
  final IntList forkedAt = new IntList();
  int forcedNext;
  /** Where its known promises forked before (a resume that recorded it), or null: the cache budget decides. */
  RecordedForks recordedForks;
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

  /** Its cache, as the engine's cache manager keeps it (the manager alone mutates it). */
  final KvSeq kv;
  private final KvCache cache;
  /** The prefix this fork reserved of the cache budget, given back when it is joined. */
  int prefixReserved;

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
      Detokenizer detokenizer, SpanDraws draws, int[] forced, KvCache cache, KvSeq kv) {
    this.request = request;
    this.id = id;
    this.parent = parent;
    this.depth = id.depth();
    this.opener = opener;
    this.parser = parser;
    this.detokenizer = detokenizer;
    this.draws = draws;
    this.forced = forced;
    this.cache = cache;
    this.kv = kv;
  }

  boolean runnable() {
    return status == Status.ACTIVE || status == Status.FINISHING;
  }

  /** Frees its cache: the storage it used is someone else's, or nobody's, now. */
  void dropCache() {
    cache.free(kv);
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

    int[] toArray() {
      return java.util.Arrays.copyOf(values, size);
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
