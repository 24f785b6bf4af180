package io.pastaserve.gateway.generation;

import io.pastaserve.gateway.auth.ApiKeyFilter;
import java.time.Duration;
import org.springframework.core.io.buffer.DataBuffer;
import org.springframework.core.io.buffer.DataBufferUtils;
import org.springframework.web.reactive.function.server.HandlerFilterFunction;
import org.springframework.web.reactive.function.server.HandlerFunction;
import org.springframework.web.reactive.function.server.ServerRequest;
import org.springframework.web.reactive.function.server.ServerResponse;
import reactor.core.publisher.Mono;

/**
 * The per-key rate limit on the routes that start or read a generation, applied before the handler runs: a
 * request over its key's limit is refused (429) from its headers alone, before its body is parsed or its
 * prompt tokenized. The key is the one {@link ApiKeyFilter} found.
 *
 * <p>What the client sends of the body is dropped unread before the refusal goes out (for at most {@link #DRAIN}):
 * the server closes a connection whose request it did not read to the end, a connection closed with unread bytes is
 * reset, and a reset can reach the client before the 429 does, so it would see a broken connection instead of the
 * refusal and its {@code Retry-After}.
 */
public final class KeyRateLimit implements HandlerFilterFunction<ServerResponse, ServerResponse> {

  /** How long a refused request's body is read and dropped. */
  static final Duration DRAIN = Duration.ofSeconds(5);

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
      return request.bodyToFlux(DataBuffer.class).doOnNext(DataBufferUtils::release).take(DRAIN)
          .onErrorComplete().then(Mono.error(e));
    }
    return next.handle(request);
  }
}
