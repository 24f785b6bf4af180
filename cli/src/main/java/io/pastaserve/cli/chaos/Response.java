package io.pastaserve.cli.chaos;

import io.pastaserve.common.request.FinishReason;

/**
 * What the client saw of one request, before it is compared with the fault-free answer.
 *
 * @param kind how the exchange ended
 * @param status the HTTP status (0 when no response came)
 * @param finishReason {@code finish_reason} of a completed answer ("" otherwise)
 * @param text the answer's text as received (for a stream: the deltas so far)
 * @param error the error message or code seen ("" when none)
 * @param requestId the generation's id ({@code chatcmpl-…}, also its Redis hash tag; "" when unknown)
 */
record Response(Kind kind, int status, String finishReason, String text, String error, String requestId) {

  /** How one exchange ended. */
  enum Kind {
    /** HTTP 200 and a whole answer (a stream: up to {@code [DONE]} with a {@code finish_reason}). */
    COMPLETED,
    /** An HTTP error status with the OpenAI error envelope. */
    HTTP_ERROR,
    /** A started stream ended with {@code data: {"error": …}}. */
    STREAM_ERROR,
    /** No clear end: the connection broke, a stream stopped without {@code [DONE]}, an error without envelope. */
    BROKEN,
    /** Nothing ended it by its deadline plus the margin; the client gave up. */
    TIMED_OUT,
    /** The client hung up on purpose after the first text. */
    CLIENT_CANCELLED
  }

  Response {
    finishReason = finishReason == null ? "" : finishReason;
    text = text == null ? "" : text;
    error = error == null ? "" : error;
    requestId = requestId == null ? "" : requestId;
  }

  /** Whether a whole answer came: completed with one of OpenAI's finish reasons ({@code stop}, {@code length}). */
  boolean isAnswer() {
    return kind == Kind.COMPLETED && FinishReason.fromWire(finishReason).filter(FinishReason::isAnswer).isPresent();
  }

  /** Whether the answer was cut by its token budget ({@code length}). */
  boolean isCut() {
    return FinishReason.LENGTH.wire().equals(finishReason);
  }

  static Response completed(String finishReason, String text, String requestId) {
    return new Response(Kind.COMPLETED, 200, finishReason, text, "", requestId);
  }

  static Response httpError(int status, String error) {
    return new Response(Kind.HTTP_ERROR, status, "", "", error, "");
  }

  static Response streamError(String text, String error, String requestId) {
    return new Response(Kind.STREAM_ERROR, 200, "", text, error, requestId);
  }

  static Response broken(int status, String text, String error, String requestId) {
    return new Response(Kind.BROKEN, status, "", text, error, requestId);
  }

  static Response timedOut(int status, String text, String requestId) {
    return new Response(Kind.TIMED_OUT, status, "", text, "no end by the deadline", requestId);
  }

  static Response clientCancelled(String text, String requestId) {
    return new Response(Kind.CLIENT_CANCELLED, 200, "", text, "", requestId);
  }
}
