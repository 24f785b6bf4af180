package io.pastaserve.gateway.api;

import io.pastaserve.gateway.generation.OutputEntry;
import java.util.Locale;
import org.springframework.http.HttpStatus;

/**
 * The finish reasons a client may see: OpenAI's {@code stop} and {@code length}, nothing else. The backend's final
 * entry can also say {@code error} (the worker's engine failed, or could not run the request) or {@code cancelled}
 * (someone other than this reader cancelled the request); those, and any reason this gateway does not know, are not
 * answers but errors, and {@link #of} turns them into the {@link ApiException} the client gets instead: the error
 * envelope with its status for a whole answer or a stream not yet started, an {@code error} event in a started
 * stream.
 */
enum FinishReason {
  /** The model ended its answer, or the answer reached a stop string. */
  STOP,
  /** {@code max_tokens} or the context ran out. */
  LENGTH;

  /** The value of {@code finish_reason}. */
  String wire() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** The finish reason of a request whose final entry is {@code done}; an {@link ApiException} when it failed. */
  static FinishReason of(OutputEntry done) {
    String reason = done.field("finishReason");
    String error = done.field("error");
    return switch (reason) {
      case "stop" -> STOP;
      case "length" -> LENGTH;
      case "cancelled" -> throw new ApiException(HttpStatus.SERVICE_UNAVAILABLE, "service_unavailable",
          "request_cancelled", null, "the request was cancelled before it finished"
              + (error.isEmpty() ? "" : " (" + error + ")") + "; try again", null);
      case "error" -> throw failed(error.isEmpty() ? "no reason given" : error);
      default -> throw failed("it ended without a known finish reason ('" + abbreviate(reason) + "')");
    };
  }

  private static ApiException failed(String why) {
    return new ApiException(HttpStatus.INTERNAL_SERVER_ERROR, "server_error", "generation_failed", null,
        "the generation failed: " + why, null);
  }

  private static String abbreviate(String s) {
    return s.length() > 40 ? s.substring(0, 40) + "..." : s;
  }
}
