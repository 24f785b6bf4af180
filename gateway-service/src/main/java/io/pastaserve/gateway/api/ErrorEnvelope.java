package io.pastaserve.gateway.api;

import com.fasterxml.jackson.annotation.JsonInclude;

/**
 * The OpenAI error envelope.
 *
 * @param error what went wrong
 */
public record ErrorEnvelope(Body error) {

  /**
   * @param message for people: says what was wrong and, where it helps, the limit
   * @param type the class of error ({@code invalid_request_error}, {@code rate_limit_error}, ...)
   * @param param the request field at fault, or null
   * @param code a stable machine-readable code, or null
   */
  @JsonInclude(JsonInclude.Include.ALWAYS)
  public record Body(String message, String type, String param, String code) {
  }

  static ErrorEnvelope of(ApiException e) {
    return new ErrorEnvelope(new Body(e.getMessage(), e.type(), e.param(), e.code()));
  }
}
