package io.pastaserve.interpreter;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.pastaserve.common.lang.PastaLimits;
import io.pastaserve.common.messaging.DecodeSpanCommand;
import io.pastaserve.common.messaging.GenerateCommand;
import io.pastaserve.common.messaging.RedisKeys;
import io.pastaserve.common.messaging.SpanEventEnvelope;
import io.pastaserve.common.messaging.SpanTokensEvent;
import io.pastaserve.common.messaging.Topics;
import io.pastaserve.common.messaging.TokenItem;
import io.pastaserve.common.request.Mode;
import io.pastaserve.common.request.Sampling;
import io.pastaserve.interpreter.config.InterpreterProperties;
import io.pastaserve.testing.RedisTestServer;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Collectors;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.data.redis.connection.stream.MapRecord;
import org.springframework.data.redis.connection.stream.StreamOffset;
import org.springframework.data.redis.core.StringRedisTemplate;
import org.springframework.kafka.core.DefaultKafkaConsumerFactory;
import org.springframework.kafka.core.KafkaTemplate;
import org.springframework.kafka.test.EmbeddedKafkaBroker;
import org.springframework.kafka.test.context.EmbeddedKafka;
import org.springframework.kafka.test.utils.KafkaTestUtils;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import org.springframework.test.web.reactive.server.WebTestClient;

@EmbeddedKafka(kraft = true, partitions = 2, bootstrapServersProperty = "spring.kafka.bootstrap-servers")
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
    properties = "pasta.interpreter.max-spans=8")
class InterpreterApplicationTest {

  static RedisTestServer redis;

  @DynamicPropertySource
  static void redisProperties(DynamicPropertyRegistry registry) throws Exception {
    redis = RedisTestServer.start();
    registry.add("spring.data.redis.port", redis::port);
  }

  @AfterAll
  static void stopRedis() {
    if (redis != null) {
      redis.close();
    }
  }

  @Autowired
  WebTestClient client;

  @Autowired
  InterpreterProperties properties;

  @Autowired
  KafkaTemplate<String, String> kafka;

  @Autowired
  EmbeddedKafkaBroker broker;

  @Autowired
  StringRedisTemplate redisTemplate;

  @Autowired
  ObjectMapper json;

  @Test
  void health_reportsTheRealRedisUp() {
    client.get().uri("/actuator/health").exchange()
        .expectStatus().isOk()
        .expectBody()
        .jsonPath("$.status").isEqualTo("UP")
        .jsonPath("$.components.redis.status").isEqualTo("UP");
  }

  /** What the workers' KEDA trigger reads (helm/pasta-serve: a metrics-api trigger on this path). */
  @Test
  void runningRequests_areServedWhereTheAutoscalerReadsThem() {
    client.get().uri("/actuator/metrics/pasta.requests.running").exchange()
        .expectStatus().isOk()
        .expectBody()
        .jsonPath("$.measurements[0].statistic").isEqualTo("VALUE")
        .jsonPath("$.measurements[0].value").isNumber();
  }

  /** How many running requests this instance keeps a view of: what shows that views do not pile up. */
  @Test
  void viewsOfRunningRequests_areMeasured() {
    client.get().uri("/actuator/metrics/pasta.interpreter.views").exchange()
        .expectStatus().isOk()
        .expectBody()
        .jsonPath("$.measurements[0].value").isEqualTo(0.0);
  }

  @Test
  void limits_bindFromConfiguration() {
    assertThat(properties.limits()).isEqualTo(new PastaLimits(8, 1, 64));
  }

  /**
   * Over the broker: the span job carries the interpreter's limits to the worker, and a span event that breaks them (a
   * fork nested deeper than max-depth) ends the request with an error, the text streamed before it kept.
   */
  @Test
  void theJobCarriesTheLimits_andASpanEventBeyondThemEndsTheRequestWithAnError() throws Exception {
    String id = "limits-" + UUID.randomUUID();
    Map<String, Object> props = KafkaTestUtils.consumerProps("limits-test-" + id, "false", broker);
    props.put("auto.offset.reset", "earliest");
    try (Consumer<String, String> jobs = new DefaultKafkaConsumerFactory<>(props, new StringDeserializer(),
        new StringDeserializer()).createConsumer()) {
      jobs.subscribe(List.of(Topics.SPAN_JOBS));
      kafka.send(Topics.REQUESTS, id, json.writeValueAsString(new GenerateCommand(1, id, "p",
          new Sampling(0, 1, 0, 0, 100, List.of()), Mode.ASYNC, "", ""))).get();
      DecodeSpanCommand job = Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> {
        for (ConsumerRecord<String, String> r : jobs.poll(Duration.ofMillis(200))) {
          if (id.equals(r.key())) {
            return json.readValue(r.value(), DecodeSpanCommand.class);
          }
        }
        return null;
      }, j -> j != null);
      assertThat(job.limits()).isEqualTo(new PastaLimits(8, 1, 64));
    }
    SpanTokensEvent main = new SpanTokensEvent(1, id, "0", "", List.of(new TokenItem(0, 1, "Tips:", List.of()),
        new TokenItem(1, 2, "", List.of("0.1"))), "", false, "worker-a", "");
    SpanTokensEvent fork = new SpanTokensEvent(1, id, "0.1", "0", List.of(new TokenItem(0, 3, " Sleep", List.of()),
        new TokenItem(1, 4, "", List.of("0.1.1"))), "", false, "worker-a", "sleep");
    kafka.send(Topics.SPAN_EVENTS, id, json.writeValueAsString(SpanEventEnvelope.of(List.of(main, fork)))).get();
    Map<Object, Object> done = Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> redisTemplate
        .opsForStream().read(StreamOffset.fromStart(RedisKeys.output(id))).stream().map(MapRecord::getValue)
        .filter(e -> "done".equals(e.get("type"))).findFirst().orElse(null), d -> d != null);
    assertThat(done).containsEntry("finishReason", "error");
    assertThat((String) done.get("error")).contains("span 0.1.1 is nested 2 deep; this request allows 1");
    String text = redisTemplate.opsForStream().read(StreamOffset.fromStart(RedisKeys.output(id))).stream()
        .map(MapRecord::getValue).filter(e -> "text".equals(e.get("type"))).map(e -> (String) e.get("text"))
        .collect(Collectors.joining());
    assertThat(text).as("what was decoded before stays readable").isEqualTo("Tips: Sleep");
  }

  /**
   * Over the broker: span events that tell their raw text are read with the PASTA-LANG parser, and a fork at a topic
   * other than its promise's ends the request with an error, the text streamed before it kept.
   */
  @Test
  void aForkAtATopicItsParentsTextDoesNotPromise_endsTheRequestWithAnError() throws Exception {
    String id = "reading-" + UUID.randomUUID();
    kafka.send(Topics.REQUESTS, id, json.writeValueAsString(new GenerateCommand(1, id, "p",
        new Sampling(0, 1, 0, 0, 100, List.of()), Mode.ASYNC, "", ""))).get();
    Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> redisTemplate.opsForHash()
        .get(RedisKeys.request(id), "status") != null);
    SpanTokensEvent main = new SpanTokensEvent(1, id, "0", "", List.of(TokenItem.of(0, 1, "Tips:", List.of(),
        "Tips:"), TokenItem.of(1, 2, "", List.of("0.1"), "<promise topic=\"sleep\"/>")), "", false, "worker-a", "",
        true);
    SpanTokensEvent fork = new SpanTokensEvent(1, id, "0.1", "0", List.of(TokenItem.of(0, 3, " Drink", List.of(),
        " Drink")), "", false, "worker-a", "water", true);
    kafka.send(Topics.SPAN_EVENTS, id, json.writeValueAsString(SpanEventEnvelope.of(List.of(main, fork)))).get();
    Map<Object, Object> done = Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> redisTemplate
        .opsForStream().read(StreamOffset.fromStart(RedisKeys.output(id))).stream().map(MapRecord::getValue)
        .filter(e -> "done".equals(e.get("type"))).findFirst().orElse(null), d -> d != null);
    assertThat(done).containsEntry("finishReason", "error");
    assertThat((String) done.get("error")).contains("span 0.1 says it was forked at topic 'water', but the promise "
        + "in span 0's text has topic 'sleep'");
    String text = redisTemplate.opsForStream().read(StreamOffset.fromStart(RedisKeys.output(id))).stream()
        .map(MapRecord::getValue).filter(e -> "text".equals(e.get("type"))).map(e -> (String) e.get("text"))
        .collect(Collectors.joining());
    assertThat(text).as("what was decoded before stays readable").isEqualTo("Tips:");
  }
}
