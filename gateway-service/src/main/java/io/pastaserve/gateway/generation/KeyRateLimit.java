package io.pastaserve.gateway.generation;

import io.pastaserve.gateway.auth.ApiKeyFilter;
import org.springframework.web.reactive.function.server.HandlerFilterFunction;
import org.springframework.web.reactive.function.server.HandlerFunction;
import org.springframework.web.reactive.function.server.ServerRequest;
import org.springframework.web.reactive.function.server.ServerResponse;
import reactor.core.publisher.Mono;

/**
 * The per-key rate limit on the routes that start or read a generation, applied before the handler runs: a
 * request over its key's limit is refused (429) from its headers alone, before its body is read, parsed or its
 * prompt tokenized. The key is the one {@link ApiKeyFilter} found.
 */
public final class KeyRateLimit implements HandlerFilterFunction<ServerResponse, ServerResponse> {

  private final Admission admission;
  private final GatewayMetrics metrics;

  public KeyRateLimit(Admission admission, GatewayMetrics metrics) {
    this.admission = admission;
    this.metrics = metrics;
  }

  @Override
  public Mono<ServerResponse> filter(ServerRequest request, HandlerFunction<ServerResponse> next) {
    String keyName = request.exchange().getAttributeOrDefault(ApiKeyFilter.KEY_NAME, "anonymous");
    try {
      admission.checkRate(keyName);
    } catch (GenerationException e) {
      metrics.rejected("rate_limited");
      return Mono.error(e);
    }
    return next.handle(request);
  }
}
