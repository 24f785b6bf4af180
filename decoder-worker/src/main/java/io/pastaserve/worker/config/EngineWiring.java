package io.pastaserve.worker.config;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.pastaserve.worker.engine.Engine;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.pastaserve.worker.model.ModelRunner;
import io.pastaserve.worker.registry.WorkerHeartbeats;
import org.springframework.data.redis.core.StringRedisTemplate;
import java.nio.file.Path;
import java.util.Map;
import org.springframework.boot.actuate.health.Health;
import org.springframework.boot.actuate.health.HealthIndicator;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/** Opens the model and starts the engine at start-up (a worker that cannot load its model does not start). */
@Configuration(proxyBeanMethods = false)
class EngineWiring {

  @Bean(destroyMethod = "close")
  ModelRunner modelRunner(WorkerProperties properties) {
    return ModelRunner.open(Path.of(properties.modelDir()), properties.executionProvider(),
        properties.intraOpThreads(), properties.spinWait(), properties.runnerApi());
  }

  @Bean(destroyMethod = "close")
  Engine engine(ModelRunner runner, WorkerProperties properties, MeterRegistry registry) {
    Engine engine = new Engine(runner, properties.engineConfig());
    Gauge.builder("pasta.engine.requests.waiting", engine, e -> e.lastLoad().queued())
        .description("requests waiting for admission (batch room or cache)").register(registry);
    Gauge.builder("pasta.engine.requests.running", engine, e -> e.lastLoad().running())
        .description("requests admitted and decoding").register(registry);
    Gauge.builder("pasta.engine.spans.running", engine, e -> e.lastLoad().activeSpans())
        .description("spans of running requests not yet done").register(registry);
    Gauge.builder("pasta.engine.batch.rows", engine, e -> e.lastLoad().batchRows())
        .description("rows in the decode batch").register(registry);
    Gauge.builder("pasta.engine.kv.tokens", engine, e -> e.lastLoad().kvTokens())
        .description("cache in use, in tokens").register(registry);
    Gauge.builder("pasta.engine.kv.usage", engine,
            e -> e.lastLoad().kvTokens() / (double) properties.kvBudgetTokens())
        .description("cache in use, as a fraction of the cache budget (0..1)").register(registry);
    Gauge.builder("pasta.engine.kv.bytes", engine,
            e -> e.lastLoad().kvTokens() * (double) runner.config().kvBytesPerToken())
        .description("cache in use, in bytes").baseUnit("bytes").register(registry);
    FunctionCounter.builder("pasta.engine.tokens", engine, e -> e.totals()[0])
        .description("tokens decoded").register(registry);
    FunctionCounter.builder("pasta.engine.forks", engine, e -> e.totals()[1])
        .description("spans forked").register(registry);
    FunctionCounter.builder("pasta.engine.joins", engine, e -> e.totals()[2])
        .description("joins").register(registry);
    return engine;
  }

  @Bean(destroyMethod = "close")
  WorkerHeartbeats workerHeartbeats(StringRedisTemplate redis, ObjectMapper json, ModelRunner runner,
      WorkerProperties properties) {
    return new WorkerHeartbeats(redis, json, properties.servedModelName(), runner.config().maxPositions(),
        runner.device(), properties.heartbeatInterval());
  }

  @Bean
  HealthIndicator model(ModelRunner runner) {
    return () -> Health.up().withDetails(Map.of("dir", runner.dir().toString(), "device", runner.device(),
        "layers", runner.config().layers(), "vocab", runner.config().vocabSize())).build();
  }
}
