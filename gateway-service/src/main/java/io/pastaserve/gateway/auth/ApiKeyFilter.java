package io.pastaserve.gateway.auth;

import io.pastaserve.gateway.api.ApiException;
import io.pastaserve.gateway.api.ErrorResponses;
import org.springframework.core.Ordered;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.web.reactive.function.server.HandlerFilterFunction;
import org.springframework.web.reactive.function.server.ServerResponse;
import org.springframework.web.server.ServerWebExchange;
import org.springframework.web.server.WebFilter;
import org.springframework.web.server.WebFilterChain;
import reactor.core.publisher.Mono;

/**
 * Asks every request under {@code /v1} for {@code Authorization: Bearer KEY}: 401 with the OpenAI envelope when it
 * is missing or unknown. Whether a path is under {@code /v1} is judged as routing reads it ({@link ApiPath}:
 * decoded, matrix parameters dropped, dot segments applied, any case), and a path under {@code /v1} that is not
 * written plainly ({@code /v1;a/models}, {@code /%76%31/models}, {@code //v1/models}) is refused: 401 without a
 * valid key like any other, 400 with one, so no spelling reaches a route. The key's name goes into the exchange's
 * attributes under {@link #KEY_NAME} (anonymous when keys are off); {@link #requireKeyName()} guards the routes
 * themselves with it.
 */
public final class ApiKeyFilter implements WebFilter, Ordered {

  /** Attribute holding the caller's key name. */
  public static final String KEY_NAME = "pasta.apiKeyName";

  private final ApiKeys keys;
  private final boolean enabled;
  private final ErrorResponses errors;

  public ApiKeyFilter(ApiKeys keys, boolean enabled, ErrorResponses errors) {
    this.keys = keys;
    this.enabled = enabled;
    this.errors = errors;
  }

  @Override
  public int getOrder() {
    return Ordered.HIGHEST_PRECEDENCE + 10;
  }

  @Override
  public Mono<Void> filter(ServerWebExchange exchange, WebFilterChain chain) {
    ApiPath path = ApiPath.of(exchange.getRequest().getPath().pathWithinApplication().value());
    if (!path.underApi()) {
      return chain.filter(exchange);
    }
    if (!enabled) {
      return plainly(exchange, chain, path, "anonymous");
    }
    String header = exchange.getRequest().getHeaders().getFirst(HttpHeaders.AUTHORIZATION);
    if (header == null || header.isBlank()) {
      return reject(exchange, "missing_api_key", "no API key: send it as 'Authorization: Bearer KEY'");
    }
    if (!header.regionMatches(true, 0, "Bearer ", 0, 7)) {
      return reject(exchange, "invalid_api_key", "the Authorization header must be 'Bearer KEY'");
    }
    return keys.match(header.substring(7).strip()).map(name -> plainly(exchange, chain, path, name))
        .orElseGet(() -> reject(exchange, "invalid_api_key", "the API key is not valid"));
  }

  /**
   * Passes a request whose caller is known on as {@code keyName}, if its path is written plainly: the key is checked
   * first, so a caller without one learns nothing about paths but 401.
   */
  private Mono<Void> plainly(ServerWebExchange exchange, WebFilterChain chain, ApiPath path, String keyName) {
    if (!path.plain()) {
      return errors.write(exchange.getResponse(), new ApiException(HttpStatus.BAD_REQUEST, "invalid_request_error",
          "invalid_path", null, "API paths must be written plainly: no ';' parameters, percent-encoding, empty or "
              + "dot segments", null));
    }
    exchange.getAttributes().put(KEY_NAME, keyName);
    return chain.filter(exchange);
  }

  /**
   * A filter for the API's routes: a request that reached one without passing this filter's check (no
   * {@link #KEY_NAME} attribute) is refused with 401, so a path the check missed fails closed.
   */
  public static HandlerFilterFunction<ServerResponse, ServerResponse> requireKeyName() {
    return (request, next) -> request.attribute(KEY_NAME).isPresent() ? next.handle(request)
        : Mono.error(new ApiException(HttpStatus.UNAUTHORIZED, "invalid_request_error", "missing_api_key", null,
            "no API key: send it as 'Authorization: Bearer KEY'", null));
  }

  private Mono<Void> reject(ServerWebExchange exchange, String code, String message) {
    exchange.getResponse().getHeaders().set(HttpHeaders.WWW_AUTHENTICATE, "Bearer");
    return errors.write(exchange.getResponse(), new ApiException(HttpStatus.UNAUTHORIZED, "invalid_request_error",
        code, null, message, null));
  }
}
