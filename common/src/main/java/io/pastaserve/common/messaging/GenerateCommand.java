package io.pastaserve.common.messaging;

import io.pastaserve.common.request.Mode;
import io.pastaserve.common.request.Sampling;
import java.util.Objects;

/**
 * Asks for an answer: the gateway publishes it on the request topic; the interpreter service runs it.
 *
 * @param v schema version
 * @param requestId unique id, also the Kafka key
 * @param prompt the user's prompt (the model's chat template is applied by the worker)
 * @param sampling how tokens are chosen
 * @param mode how the request's forks run
 * @param replay a flat transcript to replay instead of sampling (benchmarks and tests), or empty
 * @param traceParent W3C trace context of the caller, or empty
 * @param spanEvents whether the output stream also carries each span's text as it decodes ({@code span}
 *     entries), for live views of the parallel decoding
 */
public record GenerateCommand(int v, String requestId, String prompt, Sampling sampling, Mode mode,
    String replay, String traceParent, boolean spanEvents) {

  public static final int VERSION = 1;

  public GenerateCommand {
    Objects.requireNonNull(requestId, "requestId");
    Objects.requireNonNull(prompt, "prompt");
    Objects.requireNonNull(sampling, "sampling");
    Objects.requireNonNull(mode, "mode");
    replay = replay == null ? "" : replay;
    traceParent = traceParent == null ? "" : traceParent;
  }

  /** A command without span events. */
  public GenerateCommand(int v, String requestId, String prompt, Sampling sampling, Mode mode, String replay,
      String traceParent) {
    this(v, requestId, prompt, sampling, mode, replay, traceParent, false);
  }
}
