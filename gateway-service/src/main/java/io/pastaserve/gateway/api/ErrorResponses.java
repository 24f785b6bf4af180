package io.pastaserve.gateway.api;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.pastaserve.gateway.generation.GenerationException;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.core.annotation.Order;
import org.springframework.core.io.buffer.DataBuffer;
import org.springframework.core.io.buffer.DataBufferLimitException;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.server.reactive.ServerHttpResponse;
import org.springframework.stereotype.Component;
import org.springframework.web.server.ResponseStatusException;
import org.springframework.web.server.ServerWebExchange;
import org.springframework.web.server.WebExceptionHandler;
import reactor.core.publisher.Mono;

/**
 * Turns every error of the API into the OpenAI envelope with its status: {@link ApiException}s as they say,
 * framework errors (unknown route, wrong method, body too large) mapped, anything else a 500 that says no more
 * than that. Ahead of Spring Boot's own handler.
 */
@Component
@Order(-2)
public class ErrorResponses implements WebExceptionHandler {

  private static final Logger log = LoggerFactory.getLogger(ErrorResponses.class);

  private final ObjectMapper json;

  ErrorResponses(ObjectMapper json) {
    this.json = json;
  }

  @Override
  public Mono<Void> handle(ServerWebExchange exchange, Throwable ex) {
    ServerHttpResponse response = exchange.getResponse();
    if (response.isCommitted()) {
      return Mono.error(ex);
    }
    return write(response, toApi(ex, exchange));
  }

  /** Writes {@code e} as the response: status, {@code Retry-After} when set, and the envelope. */
  public Mono<Void> write(ServerHttpResponse response, ApiException e) {
    response.setStatusCode(e.status());
    HttpHeaders headers = response.getHeaders();
    headers.setContentType(MediaType.APPLICATION_JSON);
    headers.remove(HttpHeaders.CONTENT_LENGTH);
    if (e.retryAfter() != null) {
      headers.set(HttpHeaders.RETRY_AFTER, Long.toString(Math.max(1, (e.retryAfter().toMillis() + 999) / 1000)));
    }
    byte[] body;
    try {
      body = json.writeValueAsBytes(ErrorEnvelope.of(e));
    } catch (JsonProcessingException impossible) {
      body = "{\"error\":{\"message\":\"internal error\",\"type\":\"server_error\",\"param\":null,\"code\":null}}"
          .getBytes(StandardCharsets.UTF_8);
    }
    DataBuffer buffer = response.bufferFactory().wrap(body);
    return response.writeWith(Mono.just(buffer));
  }

  ApiException toApi(Throwable ex, ServerWebExchange exchange) {
    if (ex instanceof ApiException api) {
      return api;
    }
    if (ex instanceof GenerationException g) {
      return g.toApi();
    }
    if (ex instanceof TimeoutException) {
      return new ApiException(HttpStatus.GATEWAY_TIMEOUT, "timeout", "deadline_exceeded", null,
          "the request's deadline passed before it finished", null);
    }
    DataBufferLimitException limit = find(ex, DataBufferLimitException.class);
    if (limit != null) {
      return new ApiException(HttpStatus.PAYLOAD_TOO_LARGE, "invalid_request_error", "request_too_large", null,
          "the request body is larger than this server accepts", null);
    }
    if (ex instanceof ResponseStatusException rse) {
      HttpStatus status = HttpStatus.resolve(rse.getStatusCode().value());
      status = status == null ? HttpStatus.BAD_REQUEST : status;
      String message = switch (status) {
        case NOT_FOUND -> "unknown path " + exchange.getRequest().getPath().value();
        case METHOD_NOT_ALLOWED -> "method " + exchange.getRequest().getMethod() + " is not allowed on "
            + exchange.getRequest().getPath().value();
        case UNSUPPORTED_MEDIA_TYPE -> "the body must be JSON (Content-Type: application/json)";
        case PAYLOAD_TOO_LARGE -> "the request body is larger than this server accepts";
        default -> rse.getReason() == null ? status.getReasonPhrase() : rse.getReason();
      };
      String code = status == HttpStatus.NOT_FOUND ? "unknown_url" : null;
      return new ApiException(status, status.is5xxServerError() ? "server_error" : "invalid_request_error", code,
          null, message, null);
    }
    log.error("X-Request-Id {}: unexpected error on {} {}", exchange.getAttribute(RequestIdFilter.ATTRIBUTE),
        exchange.getRequest().getMethod(), exchange.getRequest().getPath(), ex);
    return new ApiException(HttpStatus.INTERNAL_SERVER_ERROR, "server_error", "internal_error", null,
        "the server failed to answer; the request id in X-Request-Id helps find why", null);
  }

  private static <T extends Throwable> T find(Throwable ex, Class<T> type) {
    for (Throwable t = ex; t != null; t = t.getCause()) {
      if (type.isInstance(t)) {
        return type.cast(t);
      }
    }
    return null;
  }
}
