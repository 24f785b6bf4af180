package io.pastaserve.common.messaging;

/** Default topic names; each service can rename them in its configuration. */
public final class Topics {

  /** {@link GenerateCommand}s, gateway to interpreter. */
  public static final String REQUESTS = "pasta.requests";
  /** {@link DecodeSpanCommand}s, interpreter to workers. */
  public static final String SPAN_JOBS = "pasta.span-jobs";
  /** {@link SpanTokensEvent}s and {@link RequestFinishedEvent}s, workers to interpreter. */
  public static final String SPAN_EVENTS = "pasta.span-events";
  /** {@link ForkFinishedEvent}s, from the worker that decoded a fork to the one running its request (every worker). */
  public static final String FORK_RESULTS = "pasta.fork-results";
  /** {@link CancelCommand}s, to the interpreter and the workers. */
  public static final String CANCEL = "pasta.cancel";
  /** Suffix of the dead-letter topic of each topic, for messages that cannot be parsed. */
  public static final String DEAD_LETTER_SUFFIX = ".DLT";

  private Topics() {
  }
}
