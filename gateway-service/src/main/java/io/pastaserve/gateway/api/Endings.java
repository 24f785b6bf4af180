package io.pastaserve.gateway.api;

import io.pastaserve.common.output.OutputEntry;
import io.pastaserve.common.request.FinishReason;
import org.springframework.http.HttpStatus;

/**
 * What a client sees of how a request ended. Only OpenAI's finish reasons, {@link FinishReason#STOP} and {@link
 * FinishReason#LENGTH}, are answers. The others — {@link FinishReason#ERROR} (the worker's engine failed, or could
 * not run the request, or the final entry's reason was one this gateway does not know) and {@link
 * FinishReason#CANCELLED} (someone other than this reader cancelled the request) — are not answers but errors, and
 * {@link #answer} turns them into the {@link ApiException} the client gets instead: the error envelope with its status
 * for a whole answer or a stream not yet started, an {@code error} event in a started stream.
 */
final class Endings {

  private Endings() {
  }

  /** The finish reason of a request whose final entry is {@code done}; an {@link ApiException} when it failed. */
  static FinishReason answer(OutputEntry.Done done) {
    String error = done.error();
    return switch (done.finishReason()) {
      case STOP, LENGTH -> done.finishReason();
      case CANCELLED -> throw new ApiException(HttpStatus.SERVICE_UNAVAILABLE, "service_unavailable",
          "request_cancelled", null, "the request was cancelled before it finished"
              + (error.isEmpty() ? "" : " (" + error + ")") + "; try again", null);
      case ERROR -> throw new ApiException(HttpStatus.INTERNAL_SERVER_ERROR, "server_error", "generation_failed",
          null, "the generation failed: " + (error.isEmpty() ? "no reason given" : error), null);
    };
  }
}
