package io.pastaserve.gateway.config;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.resilience4j.bulkhead.Bulkhead;
import io.github.resilience4j.bulkhead.BulkheadConfig;
import io.github.resilience4j.bulkhead.BulkheadRegistry;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.github.resilience4j.circuitbreaker.CircuitBreakerRegistry;
import io.github.resilience4j.ratelimiter.RateLimiterConfig;
import io.github.resilience4j.ratelimiter.RateLimiterRegistry;
import io.github.resilience4j.timelimiter.TimeLimiter;
import io.github.resilience4j.timelimiter.TimeLimiterConfig;
import io.github.resilience4j.timelimiter.TimeLimiterRegistry;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.pastaserve.gateway.api.CompletionHandler;
import io.pastaserve.gateway.api.ErrorResponses;
import io.pastaserve.gateway.auth.ApiKeyFilter;
import io.pastaserve.gateway.auth.ApiKeys;
import io.pastaserve.gateway.generation.Admission;
import io.pastaserve.gateway.generation.GatewayMetrics;
import io.pastaserve.gateway.generation.KeyRateLimit;
import io.pastaserve.gateway.generation.Generations;
import io.pastaserve.gateway.generation.OutputStreams;
import io.pastaserve.gateway.generation.RequestQueue;
import io.pastaserve.gateway.model.ServedModel;
import io.pastaserve.gateway.workers.WorkerRegistry;
import java.nio.file.Path;
import java.time.Duration;
import org.apache.kafka.clients.admin.NewTopic;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.actuate.autoconfigure.endpoint.web.WebEndpointProperties;
import org.springframework.boot.actuate.health.Health;
import org.springframework.boot.actuate.health.ReactiveHealthIndicator;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.ApplicationContext;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.data.redis.connection.ReactiveRedisConnectionFactory;
import org.springframework.data.redis.core.ReactiveStringRedisTemplate;
import org.springframework.data.redis.listener.ReactiveRedisMessageListenerContainer;
import org.springframework.kafka.config.TopicBuilder;
import org.springframework.kafka.core.KafkaTemplate;
import org.springframework.web.reactive.function.server.RouterFunction;
import org.springframework.web.reactive.function.server.RouterFunctions;
import org.springframework.web.reactive.function.server.ServerResponse;
import reactor.core.publisher.Mono;

/** Wires the gateway from {@link GatewayProperties}. */
@Configuration(proxyBeanMethods = false)
@EnableConfigurationProperties(GatewayProperties.class)
class GatewayWiring {

  private static final Logger log = LoggerFactory.getLogger(GatewayWiring.class);

  @Bean(destroyMethod = "close")
  ServedModel servedModel(GatewayProperties properties) {
    return ServedModel.open(Path.of(properties.modelDir()), properties.servedModelName());
  }

  @Bean
  ApiKeyFilter apiKeyFilter(GatewayProperties properties, ErrorResponses errors) {
    ApiKeys keys = ApiKeys.load(properties.apiKeys(), properties.apiKeysFile(), System.getenv("PASTA_API_KEYS"));
    if (properties.authEnabled() && keys.size() == 0) {
      throw new IllegalStateException("no API keys are configured: set PASTA_API_KEYS (comma-separated), "
          + "pasta.gateway.api-keys or pasta.gateway.api-keys-file; or turn keys off explicitly with "
          + "pasta.gateway.auth-enabled=false");
    }
    if (!properties.authEnabled()) {
      log.warn("API keys are OFF (pasta.gateway.auth-enabled=false): anyone who reaches this port may use it");
    } else {
      log.info("API keys on: {} key(s) accepted", keys.size());
    }
    return new ApiKeyFilter(keys, properties.authEnabled(), errors);
  }

  @Bean
  ManagementPortFilter managementPortFilter(ApplicationContext context, WebEndpointProperties endpoints,
      ErrorResponses errors) {
    return new ManagementPortFilter(context, endpoints.getBasePath(), errors);
  }

  @Bean
  NewTopic requestsTopic(GatewayProperties properties) {
    return TopicBuilder.name(properties.requestsTopic()).partitions(properties.topicPartitions()).build();
  }

  /**
   * One partition, as the interpreter and the workers declare it: every worker reads every cancellation, and a
   * partition count raised under running consumers would hide the new partitions from them until their next
   * metadata refresh (minutes), losing cancellations meanwhile.
   */
  @Bean
  NewTopic cancelTopic(GatewayProperties properties) {
    return TopicBuilder.name(properties.cancelTopic()).partitions(1).build();
  }

  @Bean(destroyMethod = "destroy")
  ReactiveRedisMessageListenerContainer outputNotifications(ReactiveRedisConnectionFactory factory) {
    return new ReactiveRedisMessageListenerContainer(factory);
  }

  @Bean(destroyMethod = "close")
  OutputStreams outputStreams(ReactiveStringRedisTemplate redis, ReactiveRedisMessageListenerContainer container,
      GatewayProperties properties) {
    return new OutputStreams(redis, container, properties.outputPollInterval());
  }

  @Bean(destroyMethod = "close")
  WorkerRegistry workerRegistry(ReactiveStringRedisTemplate redis, ObjectMapper json, GatewayProperties properties) {
    return new WorkerRegistry(redis, json, Duration.ofSeconds(1), properties.workerTimeout());
  }

  @Bean(destroyMethod = "close")
  RequestQueue requestQueue(KafkaTemplate<String, String> kafka, ObjectMapper json, GatewayProperties properties,
      CircuitBreakerRegistry breakers, TimeLimiterRegistry limiters) {
    CircuitBreaker breaker = breakers.circuitBreaker("enqueue");
    TimeLimiter limiter = limiters.timeLimiter("enqueue", TimeLimiterConfig.custom()
        .timeoutDuration(properties.enqueueTimeout()).cancelRunningFuture(true).build());
    return new RequestQueue(kafka, json, properties.requestsTopic(), properties.cancelTopic(), breaker, limiter);
  }

  @Bean
  Admission admission(GatewayProperties properties, BulkheadRegistry bulkheads, RateLimiterRegistry rateLimiters,
      MeterRegistry registry) {
    Bulkhead bulkhead = bulkheads.bulkhead("requests", BulkheadConfig.custom()
        .maxConcurrentCalls(properties.maxConcurrentRequests()).maxWaitDuration(Duration.ZERO).build());
    RateLimiterConfig perKey = properties.rateLimitRequests() == 0 ? null : RateLimiterConfig.custom()
        .limitForPeriod(properties.rateLimitRequests()).limitRefreshPeriod(properties.rateLimitPeriod())
        .timeoutDuration(Duration.ZERO).build();
    Admission admission = new Admission(bulkhead, rateLimiters, perKey, properties.retryAfter());
    Gauge.builder("pasta.gateway.requests.running", admission, Admission::running)
        .description("requests this gateway instance runs now (admitted, not yet ended)").register(registry);
    return admission;
  }

  @Bean
  GatewayMetrics gatewayMetrics(MeterRegistry registry) {
    return new GatewayMetrics(registry);
  }

  @Bean
  Generations generations(Admission admission, WorkerRegistry workers, RequestQueue queue, OutputStreams outputs,
      GatewayMetrics metrics, ServedModel model, GatewayProperties properties) {
    return new Generations(admission, workers, queue, outputs, metrics, model.name(), properties.requestTimeout());
  }

  @Bean
  CompletionHandler completionHandler(ObjectMapper json, ServedModel model, Generations generations,
      WorkerRegistry workers, GatewayProperties properties) {
    return new CompletionHandler(json, model, generations, workers, properties.maxBodyBytes(),
        properties.defaultMaxTokens(), properties.maxTokensLimit());
  }

  /**
   * The API. Every route needs the key check to have passed; the routes that start or read a generation also
   * spend one of the key's requests for the period, before the handler reads the body.
   */
  @Bean
  RouterFunction<ServerResponse> api(CompletionHandler handler, Admission admission, GatewayMetrics metrics) {
    RouterFunction<ServerResponse> generations = RouterFunctions.route()
        .POST("/v1/chat/completions", handler::chat)
        .POST("/v1/completions", handler::completions)
        .GET("/v1/pasta/streams/{id}", handler::resume)
        .filter(new KeyRateLimit(admission, metrics))
        .build();
    return RouterFunctions.route()
        .GET("/v1/models", handler::models)
        .GET("/v1/models/{id}", handler::model)
        .add(generations)
        .filter(ApiKeyFilter.requireKeyName())
        .build();
  }

  /** Readiness: a worker serving the model is alive (the gateway can serve). */
  @Bean
  ReactiveHealthIndicator workers(WorkerRegistry workers, ServedModel model) {
    return () -> {
      int n = workers.serving(model.name()).size();
      return Mono.just((n > 0 ? Health.up() : Health.outOfService()).withDetail("model", model.name())
          .withDetail("liveWorkers", n).build());
    };
  }
}
