package io.pastaserve.worker.kv;

import io.pastaserve.common.lang.SpanId;
import java.util.List;

/**
 * The KV cache manager: where every span's cache lives, and the moves that forks, joins and batch changes need.
 * The scheduler speaks to it in {@link KvSeq} handles (one per span) and in passes ({@link KvPass}); which memory
 * holds the columns, and how they are copied, stays behind this contract, so the host implementation
 * ({@link BlockKvCache}) and one over device buffers are interchangeable.
 *
 * <p>The decode batch is a set of rows, each a span's whole past, right-aligned. A step asks for the
 * {@linkplain #decodePass() decode pass} and reports it {@linkplain #decoded done}; asks for a
 * {@linkplain #prefillPass prefill pass} over spans with several tokens to feed and reports it
 * {@linkplain #prefilled done}; then, when the batch changes, {@linkplain #mustMove moves} the spans that leave it
 * into storage of their own and {@linkplain #gatherBatch gathers} and {@linkplain #installBatch installs} the next.
 * Accounting (how many tokens a request may hold) is not the cache's: it is {@code KvReservation}'s.
 *
 * <p>Used by the scheduler thread only; every handle is mutated by the cache alone.
 */
public interface KvCache {

  /** A new, empty sequence (a request's main span). */
  KvSeq open();

  /**
   * A fork's sequence: it sees all of {@code parent}'s columns (shared, not copied) and will feed {@code shared}
   * more that its parent feeds too; those are its prefix, and the columns after them its own.
   */
  KvSeq fork(KvSeq parent, int shared);

  /**
   * A host copy of {@code seq}'s columns, as a fork of it would see them now ({@link #fork}): what another worker
   * restores ({@link #restore}) to start a fork of this span without prefilling its prefix. One copy off the cache's
   * memory, after a gather into a block from the allocator (for span {@code span} of request {@code requestId}) when
   * the columns are in several pieces. Changes no sequence.
   */
  KvSnapshot snapshot(KvSeq seq, String requestId, SpanId span);

  /**
   * A fork's sequence whose parent's columns are {@code parent}'s, copied into a block of its own (for span
   * {@code span} of request {@code requestId}), and which will feed {@code shared} more that its parent feeds too:
   * as {@link #fork} of a sequence holding those columns. Allocating may fail ({@code OutOfMemoryError}).
   */
  KvSeq restore(KvSnapshot parent, int shared, String requestId, SpanId span);

  /** Appends each fork's own columns (after its prefix) to {@code parent}'s, in order; the forks are freed. */
  void join(KvSeq parent, List<KvSeq> forks);

  /** Forgets {@code seq}'s columns: the storage they used is someone else's, or nobody's, now. */
  void free(KvSeq seq);

  /** {@code seq} leaves its batch row; it keeps seeing its columns where they are until the batch is rebuilt. */
  void leaveBatch(KvSeq seq);

  /** Whether {@code seq} must move to storage of its own before the next batch replaces the current one. */
  boolean mustMove(KvSeq seq);

  /**
   * Moves {@code seq}'s columns (with {@code ownOnly}, only those after its prefix) to storage of its own, for span
   * {@code span} of request {@code requestId}. Allocating may fail ({@code OutOfMemoryError}); {@code seq} is
   * unchanged then.
   */
  void moveToOwn(KvSeq seq, String requestId, SpanId span, boolean ownOnly);

  /** The decode pass over the current batch: its rows in batch order. */
  KvPass decodePass();

  /** The decode pass wrote its present: it is the batch now, every row one column longer. */
  void decoded(List<KvSeq> rows);

  /**
   * A prefill pass over {@code rows}, their pasts gathered (or, with {@code inPlace}, read where they are when there
   * is one row whose whole past is a batch row). Changes no sequence.
   */
  KvPass prefillPass(List<KvSeq> rows, boolean inPlace);

  /** The prefill pass wrote its present: row {@code i} is {@code chunks.get(i)} columns longer. */
  void prefilled(List<KvSeq> rows, List<Integer> chunks, KvPass pass);

  /** Copies the next batch's rows, right-aligned, into the spare batch; throws when it cannot (no memory). */
  void gatherBatch(List<KvSeq> next);

  /** The gathered batch becomes the current one: {@code next.get(i)} is row {@code i}. */
  void installBatch(List<KvSeq> next);

  /** Empties the batch (after a failure of the whole step). */
  void clearBatch();
}
