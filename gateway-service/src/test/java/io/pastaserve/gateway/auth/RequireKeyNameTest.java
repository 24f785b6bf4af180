package io.pastaserve.gateway.auth;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.springframework.test.web.reactive.server.WebTestClient;
import org.springframework.web.reactive.function.server.RouterFunction;
import org.springframework.web.reactive.function.server.RouterFunctions;
import org.springframework.web.reactive.function.server.ServerResponse;

/**
 * The API's routes fail closed: a request that reaches one without having passed the key check (no key name on
 * the exchange) never runs the handler, whatever let it through.
 */
class RequireKeyNameTest {

  @Test
  void aRouteReachedWithoutTheKeyCheck_neverRunsItsHandler() {
    AtomicInteger handled = new AtomicInteger();
    RouterFunction<ServerResponse> routes = RouterFunctions.route()
        .GET("/v1/models", request -> {
          handled.incrementAndGet();
          return ServerResponse.ok().bodyValue("served");
        })
        .filter(ApiKeyFilter.requireKeyName())
        .build();

    WebTestClient.bindToRouterFunction(routes).build().get().uri("/v1/models").exchange()
        .expectStatus().value(status -> assertThat(status).isNotEqualTo(200));

    assertThat(handled).hasValue(0);
  }

  @Test
  void aRouteReachedAfterTheKeyCheck_runsItsHandler() {
    RouterFunction<ServerResponse> routes = RouterFunctions.route()
        .GET("/v1/models", request -> ServerResponse.ok().bodyValue("served"))
        .filter(ApiKeyFilter.requireKeyName())
        .build();

    WebTestClient.bindToRouterFunction(routes)
        .webFilter((exchange, chain) -> {
          exchange.getAttributes().put(ApiKeyFilter.KEY_NAME, "key-1");
          return chain.filter(exchange);
        })
        .build().get().uri("/v1/models").exchange()
        .expectStatus().isOk().expectBody(String.class).isEqualTo("served");
  }
}
