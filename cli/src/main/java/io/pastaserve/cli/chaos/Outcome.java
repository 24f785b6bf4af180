package io.pastaserve.cli.chaos;

/**
 * What became of one request, as the client saw it. {@link #IDENTICAL}, {@link #FAILED_CLEAR} and
 * {@link #CANCELLED_BY_CLIENT} are acceptable under a fault; {@link #HUNG} and the {@linkplain #isLost lost}
 * classes fail the run.
 */
enum Outcome {

  /** Finished normally (HTTP 200, {@code stop} or {@code length}) with the fault-free run's text. */
  IDENTICAL("identical"),
  /**
   * Failed and said so within its deadline: an HTTP error status with the OpenAI error envelope, or a stream ended
   * by an {@code error} event.
   */
  FAILED_CLEAR("failed-clear"),
  /** No end by the request's deadline plus the margin. */
  HUNG("hung"),
  /** Finished normally, but text is missing or differs from the fault-free run's. */
  LOST("lost"),
  /** Finished normally, and the fault-free text appears in it with parts repeated. */
  DUPLICATED("duplicated"),
  /**
   * Ended without a clear error: a connection that broke, a stream that stopped before {@code [DONE]} with no
   * {@code error} event, an error status without the envelope, an answer whose {@code finish_reason} is not
   * OpenAI's {@code stop} or {@code length}. The client lost its answer without being told
   * why, so it counts as lost.
   */
  BROKEN("broken"),
  /** The client hung up on purpose (the client-disconnect fault); counted apart from the rest. */
  CANCELLED_BY_CLIENT("cancelled-by-client");

  private final String label;

  Outcome(String label) {
    this.label = label;
  }

  String label() {
    return label;
  }

  /** Counted in L of the summary line: text the client lost, got twice, or lost without a clear error. */
  boolean isLost() {
    return this == LOST || this == DUPLICATED || this == BROKEN;
  }
}
