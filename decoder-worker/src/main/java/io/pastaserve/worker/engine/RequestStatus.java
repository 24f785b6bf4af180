package io.pastaserve.worker.engine;

import io.pastaserve.common.request.FinishReason;

/**
 * Where a request is in the engine. It waits in the admission queue, runs once admitted, and ends in one of the
 * finished states, each of which carries the request's {@link FinishReason}. Set by the scheduler thread only.
 */
enum RequestStatus {
  /** Queued: not admitted yet, holds no cache. */
  WAITING(null),
  /** Admitted: its spans decode in the batch (or wait for their forks). */
  RUNNING(null),
  /** Ended complete: end of sequence in its main span, or a stop string in its answer. */
  FINISHED_STOPPED(FinishReason.STOP),
  /** Ended cut short: its token budget, or a span cut by the span-token limit, the context or the cache budget. */
  FINISHED_LENGTH(FinishReason.LENGTH),
  /** Cancelled by the caller, or by the engine closing. */
  FINISHED_CANCELLED(FinishReason.CANCELLED),
  /** Failed: its own work, or a forward pass only it fails. */
  FINISHED_ERROR(FinishReason.ERROR);

  private final FinishReason reason;

  RequestStatus(FinishReason reason) {
    this.reason = reason;
  }

  boolean isFinished() {
    return reason != null;
  }

  /** The finish reason of a finished request. */
  FinishReason finishReason() {
    if (reason == null) {
      throw new IllegalStateException("a " + this + " request has no finish reason yet");
    }
    return reason;
  }
}
