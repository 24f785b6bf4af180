package io.pastaserve.gateway.api;

import java.time.Duration;
import org.springframework.http.HttpStatus;

/**
 * An error the API answers with the OpenAI envelope {@code {"error":{"message","type","param","code"}}}.
 * {@code retryAfter} (when set) becomes the {@code Retry-After} header.
 */
public final class ApiException extends RuntimeException {

  private final HttpStatus status;
  private final String type;
  private final String code;
  private final String param;
  private final Duration retryAfter;

  public ApiException(HttpStatus status, String type, String code, String param, String message,
      Duration retryAfter) {
    super(message, null, false, false);
    this.status = status;
    this.type = type;
    this.code = code;
    this.param = param;
    this.retryAfter = retryAfter;
  }

  /** 400 for a bad field. */
  public static ApiException invalid(String param, String message) {
    return new ApiException(HttpStatus.BAD_REQUEST, "invalid_request_error", "invalid_value", param, message, null);
  }

  public HttpStatus status() {
    return status;
  }

  public String type() {
    return type;
  }

  public String code() {
    return code;
  }

  public String param() {
    return param;
  }

  public Duration retryAfter() {
    return retryAfter;
  }
}
