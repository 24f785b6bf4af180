package io.pastaserve.gateway.auth;

import io.pastaserve.gateway.api.ApiException;
import io.pastaserve.gateway.api.ErrorResponses;
import org.springframework.core.Ordered;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.web.server.ServerWebExchange;
import org.springframework.web.server.WebFilter;
import org.springframework.web.server.WebFilterChain;
import reactor.core.publisher.Mono;

/**
 * Asks every {@code /v1/**} request for {@code Authorization: Bearer KEY}: 401 with the OpenAI envelope when it is
 * missing or unknown. The key's name goes into the exchange's attributes under {@link #KEY_NAME} (anonymous when
 * keys are off).
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
    String path = exchange.getRequest().getPath().pathWithinApplication().value();
    if (!path.startsWith("/v1/") && !path.equals("/v1")) {
      return chain.filter(exchange);
    }
    if (!enabled) {
      exchange.getAttributes().put(KEY_NAME, "anonymous");
      return chain.filter(exchange);
    }
    String header = exchange.getRequest().getHeaders().getFirst(HttpHeaders.AUTHORIZATION);
    if (header == null || header.isBlank()) {
      return reject(exchange, "missing_api_key", "no API key: send it as 'Authorization: Bearer KEY'");
    }
    if (!header.regionMatches(true, 0, "Bearer ", 0, 7)) {
      return reject(exchange, "invalid_api_key", "the Authorization header must be 'Bearer KEY'");
    }
    return keys.match(header.substring(7).strip()).map(name -> {
      exchange.getAttributes().put(KEY_NAME, name);
      return chain.filter(exchange);
    }).orElseGet(() -> reject(exchange, "invalid_api_key", "the API key is not valid"));
  }

  private Mono<Void> reject(ServerWebExchange exchange, String code, String message) {
    exchange.getResponse().getHeaders().set(HttpHeaders.WWW_AUTHENTICATE, "Bearer");
    return errors.write(exchange.getResponse(), new ApiException(HttpStatus.UNAUTHORIZED, "invalid_request_error",
        code, null, message, null));
  }
}
