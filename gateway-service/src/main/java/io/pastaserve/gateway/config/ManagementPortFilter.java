package io.pastaserve.gateway.config;

import io.pastaserve.gateway.api.ApiException;
import io.pastaserve.gateway.api.ErrorResponses;
import org.springframework.context.ApplicationContext;
import org.springframework.core.Ordered;
import org.springframework.http.HttpStatus;
import org.springframework.web.server.ServerWebExchange;
import org.springframework.web.server.WebFilter;
import org.springframework.web.server.WebFilterChain;
import reactor.core.publisher.Mono;

/**
 * Keeps the management port to the actuator. With {@code management.server.port} set, the management server runs
 * in a child context whose handler also finds the application's routes, static pages and filters; an exchange
 * served there carries that child context rather than the application's, and this filter answers it 404 for every
 * path outside the actuator's base path. The API and the playground are served on the API port only.
 */
final class ManagementPortFilter implements WebFilter, Ordered {

  private final ApplicationContext application;
  private final String basePath;
  private final ErrorResponses errors;

  /**
   * @param application the application's own context (exchanges of the API port carry it)
   * @param basePath the actuator's base path ({@code /actuator})
   */
  ManagementPortFilter(ApplicationContext application, String basePath, ErrorResponses errors) {
    this.application = application;
    this.basePath = basePath.endsWith("/") ? basePath.substring(0, basePath.length() - 1) : basePath;
    this.errors = errors;
  }

  /** Ahead of every filter but the request id's, the API key check included. */
  @Override
  public int getOrder() {
    return Ordered.HIGHEST_PRECEDENCE + 1;
  }

  @Override
  public Mono<Void> filter(ServerWebExchange exchange, WebFilterChain chain) {
    ApplicationContext served = exchange.getApplicationContext();
    if (served == null || served == application) {
      return chain.filter(exchange);
    }
    String path = exchange.getRequest().getPath().pathWithinApplication().value();
    if (basePath.isEmpty() || path.equals(basePath) || path.startsWith(basePath + "/")) {
      return chain.filter(exchange);
    }
    return errors.write(exchange.getResponse(), new ApiException(HttpStatus.NOT_FOUND, "invalid_request_error",
        "unknown_url", null, "the management port serves " + basePath + " only", null));
  }
}
