package io.pastaserve.gateway.api;

import java.util.UUID;
import java.util.regex.Pattern;
import org.springframework.core.Ordered;
import org.springframework.stereotype.Component;
import org.springframework.web.server.ServerWebExchange;
import org.springframework.web.server.WebFilter;
import org.springframework.web.server.WebFilterChain;
import reactor.core.publisher.Mono;

/**
 * {@code X-Request-Id}: the caller's (when it is a short token of safe characters) or a new one, returned on every
 * response and put in the log context of the request. It correlates logs; it is not the id of the generation
 * (each generation gets its own, returned as {@code id}), so a client that repeats it cannot collide with another
 * request.
 */
@Component
class RequestIdFilter implements WebFilter, Ordered {

  static final String HEADER = "X-Request-Id";
  static final String ATTRIBUTE = "pasta.requestId";
  private static final Pattern SAFE = Pattern.compile("[A-Za-z0-9._:\\-]{1,128}");

  @Override
  public int getOrder() {
    return Ordered.HIGHEST_PRECEDENCE;
  }

  @Override
  public Mono<Void> filter(ServerWebExchange exchange, WebFilterChain chain) {
    String given = exchange.getRequest().getHeaders().getFirst(HEADER);
    String id = given != null && SAFE.matcher(given).matches() ? given : UUID.randomUUID().toString();
    exchange.getAttributes().put(ATTRIBUTE, id);
    exchange.getResponse().getHeaders().set(HEADER, id);
    return chain.filter(exchange).contextWrite(ctx -> ctx.put(ATTRIBUTE, id));
  }
}
