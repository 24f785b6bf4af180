package io.pastaserve.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.pastaserve.common.lang.PastaLimits;
import io.pastaserve.common.lang.Program;
import io.pastaserve.common.messaging.GenerateCommand;
import io.pastaserve.common.messaging.RedisKeys;
import io.pastaserve.common.messaging.Sampling;
import io.pastaserve.common.messaging.Topics;
import io.pastaserve.interpreter.InterpreterApplication;
import io.pastaserve.testing.RedisTestServer;
import io.pastaserve.worker.DecoderWorkerApplication;
import io.pastaserve.worker.engine.Engine;
import io.pastaserve.worker.engine.EngineConfig;
import io.pastaserve.worker.engine.GenerationRequest;
import io.pastaserve.worker.engine.GenerationResult;
import io.pastaserve.worker.engine.Mode;
import io.pastaserve.worker.model.ExecutionProvider;
import io.pastaserve.worker.model.ModelRunner;
import io.pastaserve.worker.sampling.SamplingParams;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.stream.Collectors;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.data.redis.connection.lettuce.LettuceConnectionFactory;
import org.springframework.data.redis.connection.stream.MapRecord;
import org.springframework.data.redis.connection.stream.StreamOffset;
import org.springframework.data.redis.core.StringRedisTemplate;
import org.springframework.kafka.core.DefaultKafkaProducerFactory;
import org.springframework.kafka.core.KafkaTemplate;
import org.springframework.kafka.test.EmbeddedKafkaKraftBroker;

/**
 * The interpreter service and a decoder worker, each a real Spring Boot application, over a real KRaft broker and
 * a real Redis, with the bundled model: a request published to the request topic comes back assembled.
 */
class KafkaPathTest {

  static final Path MODEL = Path.of("../models/pasta-tiny").toAbsolutePath().normalize();
  static final ObjectMapper JSON = new ObjectMapper();

  static EmbeddedKafkaKraftBroker kafka;
  static RedisTestServer redisServer;
  static LettuceConnectionFactory redisFactory;
  static StringRedisTemplate redis;
  static ConfigurableApplicationContext worker;
  static ConfigurableApplicationContext interpreter;
  static KafkaTemplate<String, String> producer;

  @BeforeAll
  static void start() throws Exception {
    kafka = new EmbeddedKafkaKraftBroker(1, 4);
    kafka.afterPropertiesSet();
    redisServer = RedisTestServer.start();
    redisFactory = new LettuceConnectionFactory("127.0.0.1", redisServer.port());
    redisFactory.afterPropertiesSet();
    redisFactory.start();
    redis = new StringRedisTemplate(redisFactory);
    String[] shared = {
        // each application gets exactly these settings, not the application.yml of another module
        "spring.config.name=pasta-e2e", "server.port=0", "spring.main.banner-mode=off",
        "spring.kafka.bootstrap-servers=" + kafka.getBrokersAsString(),
        "spring.kafka.consumer.auto-offset-reset=earliest", "spring.kafka.producer.acks=all",
        "spring.data.redis.port=" + redisServer.port(), "logging.level.ai.djl=error",
        "logging.level.org.apache.kafka=warn", "pasta.worker.topic-partitions=4",
        "pasta.interpreter.topic-partitions=4"};
    interpreter = new SpringApplicationBuilder(InterpreterApplication.class).properties(shared).run();
    worker = new SpringApplicationBuilder(DecoderWorkerApplication.class).properties(shared)
        .properties("pasta.worker.model-dir=" + MODEL, "pasta.worker.provider=cpu").run();
    Map<String, Object> config = new HashMap<>();
    config.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.getBrokersAsString());
    config.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class);
    config.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class);
    producer = new KafkaTemplate<>(new DefaultKafkaProducerFactory<>(config));
  }

  @AfterAll
  static void stop() {
    if (worker != null) {
      worker.close();
    }
    if (interpreter != null) {
      interpreter.close();
    }
    redisFactory.destroy();
    redisServer.close();
    kafka.destroy();
  }

  record Answer(String text, Map<Object, Object> done) {
  }

  static Answer send(GenerateCommand command) throws Exception {
    producer.send(Topics.REQUESTS, command.requestId(), JSON.writeValueAsString(command)).get();
    return answerOf(command.requestId());
  }

  static Answer answerOf(String id) {
    await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(50)).until(() -> records(id).stream()
        .anyMatch(r -> "done".equals(r.getValue().get("type"))));
    List<MapRecord<String, Object, Object>> records = records(id);
    String text = records.stream().filter(r -> "text".equals(r.getValue().get("type")))
        .map(r -> (String) r.getValue().get("text")).collect(Collectors.joining());
    Map<Object, Object> done = records.stream().filter(r -> "done".equals(r.getValue().get("type"))).findFirst()
        .orElseThrow().getValue();
    return new Answer(text, done);
  }

  static List<MapRecord<String, Object, Object>> records(String id) {
    List<MapRecord<String, Object, Object>> records = redis.opsForStream().read(StreamOffset.fromStart(
        RedisKeys.output(id)));
    return records == null ? List.of() : records;
  }

  static GenerateCommand command(String prompt, Sampling sampling, String mode, String replay) {
    return new GenerateCommand(GenerateCommand.VERSION, UUID.randomUUID().toString(), prompt, sampling, mode, replay,
        "");
  }

  @Test
  void replayedPrograms_comeBackAssembled_inBothModes() throws Exception {
    List<String> transcripts = Files.readAllLines(MODEL.resolve("heldout-transcripts.txt"), StandardCharsets.UTF_8)
        .stream().limit(4).map(l -> l.replace("\\n", "\n")).toList();
    for (String transcript : transcripts) {
      String expected = Program.fromTranscript(transcript, PastaLimits.defaults()).assembledText();
      for (String mode : List.of("async", "serial")) {
        Answer answer = send(command("p", new Sampling(0, 1, 0, 0, 4096, List.of()), mode, transcript));
        assertThat(answer.text()).isEqualTo(expected);
        assertThat(answer.done()).containsEntry("finishReason", "stop").containsEntry("annotated", transcript);
      }
    }
  }

  @Test
  void generatedAnswers_matchTheInProcessEngine_greedyAndSeeded() throws Exception {
    List<String> prompts = Files.readAllLines(MODEL.resolve("heldout-prompts.txt"), StandardCharsets.UTF_8)
        .stream().limit(3).toList();
    try (ModelRunner runner = ModelRunner.open(MODEL, ExecutionProvider.CPU, 0);
        Engine engine = new Engine(runner, EngineConfig.defaults())) {
      for (String prompt : prompts) {
        // budgets large enough that answers end by themselves: a budget that cuts an answer short cuts
        // concurrently decoded spans at different points than serially decoded ones
        for (Sampling sampling : List.of(new Sampling(0, 1, 0, 0, 3000, List.of()),
            new Sampling(0.8, 0.95, 0, 1234, 3000, List.of()))) {
          for (String mode : List.of("async", "serial")) {
            GenerationResult local = engine.generate(new GenerationRequest("local", prompt,
                new SamplingParams(sampling.temperature(), sampling.topP(), sampling.topK(), sampling.seed(),
                    sampling.maxTokens(), sampling.stop()), Mode.parse(mode), Optional.empty()));
            Answer answer = send(command(prompt, sampling, mode, ""));
            assertThat(answer.text()).as("%s / %s / t=%s", prompt, mode, sampling.temperature())
                .isEqualTo(local.text());
            assertThat(answer.done()).containsEntry("finishReason", local.finishReason().name().toLowerCase());
          }
        }
      }
    }
  }

  @Test
  void aRequestDeliveredTwice_isAnsweredOnce() throws Exception {
    String transcript = "Two:\n<promise topic=\"a\"/><async topic=\"a\">one</async>\n<promise topic=\"b\"/>"
        + "<async topic=\"b\">two</async>\n<sync/>end";
    GenerateCommand command = command("p", new Sampling(0, 1, 0, 0, 4096, List.of()), "async", transcript);
    String json = JSON.writeValueAsString(command);
    producer.send(Topics.REQUESTS, command.requestId(), json).get();
    producer.send(Topics.REQUESTS, command.requestId(), json).get();
    Answer answer = answerOf(command.requestId());
    Thread.sleep(500);
    assertThat(records(command.requestId()).stream().filter(r -> "done".equals(r.getValue().get("type"))))
        .hasSize(1);
    assertThat(answerOf(command.requestId()).text()).isEqualTo("Two:\none\ntwo\nend").isEqualTo(answer.text());
  }
}
