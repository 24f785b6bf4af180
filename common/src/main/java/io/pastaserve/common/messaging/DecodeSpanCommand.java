package io.pastaserve.common.messaging;

import io.pastaserve.common.lang.PastaLimits;
import io.pastaserve.common.request.Mode;
import io.pastaserve.common.request.Sampling;
import java.util.Objects;

/**
 * A span job for a decoder worker: decode the request's main span and the forks it promises (the worker forks
 * locally and reports every fork). A redelivered or re-dispatched job resumes from the token ids the
 * interpreter has recorded in Redis, so the text does not change.
 *
 * @param v schema version
 * @param requestId the request, also the Kafka key
 * @param spanId the span to decode ({@code 0}: the whole program)
 * @param prompt the user's prompt
 * @param sampling how tokens are chosen
 * @param mode how the request's forks run
 * @param attempt 1 for the first dispatch, higher after a re-dispatch
 * @param replay a flat transcript to replay instead of sampling (benchmarks and tests), or empty
 * @param traceParent W3C trace context, or empty
 * @param limits the PASTA-LANG limits the interpreter holds this request's program to (spans, nesting, topic
 *     length): the worker forks within them; null (a job from an interpreter that predates the field) means the
 *     worker's own {@code pasta.worker.max-*}
 * @param fork null for a request's job; for the job of one fork that the worker running the request placed on
 *     another worker ({@code spanId} is the fork's), the request's known tokens that rebuild the fork's prefix
 */
public record DecodeSpanCommand(int v, String requestId, String spanId, String prompt, Sampling sampling,
    Mode mode, int attempt, String replay, String traceParent, PastaLimits limits, ForkJob fork) {

  public static final int VERSION = 1;

  public DecodeSpanCommand {
    Objects.requireNonNull(requestId, "requestId");
    Objects.requireNonNull(spanId, "spanId");
    Objects.requireNonNull(prompt, "prompt");
    Objects.requireNonNull(sampling, "sampling");
    Objects.requireNonNull(mode, "mode");
    replay = replay == null ? "" : replay;
    traceParent = traceParent == null ? "" : traceParent;
  }

  /** A request's job. */
  public DecodeSpanCommand(int v, String requestId, String spanId, String prompt, Sampling sampling, Mode mode,
      int attempt, String replay, String traceParent, PastaLimits limits) {
    this(v, requestId, spanId, prompt, sampling, mode, attempt, replay, traceParent, limits, null);
  }

  /** A job without limits: the worker's own apply. */
  public DecodeSpanCommand(int v, String requestId, String spanId, String prompt, Sampling sampling, Mode mode,
      int attempt, String replay, String traceParent) {
    this(v, requestId, spanId, prompt, sampling, mode, attempt, replay, traceParent, null, null);
  }
}
