package io.pastaserve.gateway.generation;

import io.pastaserve.gateway.api.ApiException;
import java.time.Duration;
import org.springframework.http.HttpStatus;

/** Why a request was not run, or did not finish: each kind has its status and a message that says what to do. */
public final class GenerationException extends RuntimeException {

  /** The kinds, with the status each answers. */
  public enum Kind {
    /** This gateway runs as many requests as it may (429). */
    QUEUE_FULL(HttpStatus.TOO_MANY_REQUESTS, "rate_limit_error", "queue_full"),
    /** The API key started too many requests in the period (429). */
    RATE_LIMITED(HttpStatus.TOO_MANY_REQUESTS, "rate_limit_error", "rate_limit_exceeded"),
    /** No live worker serves the model (503). */
    NO_WORKER(HttpStatus.SERVICE_UNAVAILABLE, "service_unavailable", "no_worker"),
    /** The request could not be enqueued (503). */
    QUEUE_UNAVAILABLE(HttpStatus.SERVICE_UNAVAILABLE, "service_unavailable", "queue_unavailable"),
    /** The request's deadline passed (504). */
    DEADLINE(HttpStatus.GATEWAY_TIMEOUT, "timeout", "deadline_exceeded");

    final HttpStatus status;
    final String type;
    final String code;

    Kind(HttpStatus status, String type, String code) {
      this.status = status;
      this.type = type;
      this.code = code;
    }
  }

  private final Kind kind;
  private final Duration retryAfter;

  public GenerationException(Kind kind, String message, Duration retryAfter) {
    super(message, null, false, false);
    this.kind = kind;
    this.retryAfter = retryAfter;
  }

  public Kind kind() {
    return kind;
  }

  public ApiException toApi() {
    return new ApiException(kind.status, kind.type, kind.code, null, getMessage(), retryAfter);
  }
}
