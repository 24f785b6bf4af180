package io.pastaserve.e2e;

import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.pastaserve.common.messaging.GenerateCommand;
import io.pastaserve.common.messaging.RedisKeys;
import io.pastaserve.common.messaging.Topics;
import io.pastaserve.common.request.Mode;
import io.pastaserve.common.request.Sampling;
import io.pastaserve.interpreter.InterpreterApplication;
import io.pastaserve.testing.KafkaBrokerProcess;
import io.pastaserve.testing.RedisTestServer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Collectors;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.StringSerializer;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.data.redis.connection.lettuce.LettuceConnectionFactory;
import org.springframework.data.redis.connection.stream.MapRecord;
import org.springframework.data.redis.connection.stream.StreamOffset;
import org.springframework.data.redis.core.StringRedisTemplate;
import org.springframework.kafka.core.DefaultKafkaProducerFactory;
import org.springframework.kafka.config.KafkaListenerEndpointRegistry;
import org.springframework.kafka.core.KafkaTemplate;
import org.springframework.kafka.listener.MessageListenerContainer;


/**
 * A real KRaft broker (a standalone process from the kafka_2.13 jars), a real Redis and the interpreter service,
 * and the client side of the request path.
 */
final class Suite implements AutoCloseable {

  static final Path ROOT = Path.of("..").toAbsolutePath().normalize();
  static final Path MODEL = ROOT.resolve("models/pasta-tiny");
  static final ObjectMapper JSON = new ObjectMapper();

  /** The bundled model's held-out prompts, one a line, in order. */
  static List<String> heldoutPrompts() {
    try {
      return Files.readAllLines(MODEL.resolve("heldout-prompts.txt"), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  final KafkaBrokerProcess kafka;
  final RedisTestServer redisServer;
  final LettuceConnectionFactory redisFactory;
  final StringRedisTemplate redis;
  final KafkaTemplate<String, String> producer;
  ConfigurableApplicationContext interpreter;

  Suite() throws Exception {
    kafka = KafkaBrokerProcess.start(4);
    redisServer = RedisTestServer.start();
    redisFactory = new LettuceConnectionFactory("127.0.0.1", redisServer.port());
    redisFactory.afterPropertiesSet();
    redisFactory.start();
    redis = new StringRedisTemplate(redisFactory);
    Map<String, Object> config = new HashMap<>();
    config.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
    config.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class);
    config.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class);
    producer = new KafkaTemplate<>(new DefaultKafkaProducerFactory<>(config));
  }

  /** Settings every application of the suite gets, instead of another module's application.yml. */
  String[] shared() {
    return new String[] {
        "spring.config.name=pasta-e2e", "server.port=0", "spring.main.banner-mode=off",
        "spring.kafka.bootstrap-servers=" + kafka.bootstrapServers(),
        "spring.kafka.consumer.auto-offset-reset=earliest", "spring.kafka.producer.acks=all",
        "spring.data.redis.port=" + redisServer.port(), "logging.level.ai.djl=error",
        "management.endpoints.web.exposure.include=health,prometheus",
        "logging.level.org.apache.kafka=warn", "pasta.worker.topic-partitions=4",
        "pasta.interpreter.topic-partitions=4", "spring.kafka.template.observation-enabled=true",
        "spring.kafka.listener.observation-enabled=true", "management.tracing.sampling.probability=1.0"};
  }

  /** The same settings as command-line arguments of a service process. */
  String[] sharedArgs() {
    return java.util.Arrays.stream(shared()).filter(s -> !s.startsWith("server.port"))
        .map(s -> "--" + s).toArray(String[]::new);
  }

  void startInterpreter() {
    interpreter = new SpringApplicationBuilder(InterpreterApplication.class).properties(shared()).run();
  }

  void stopInterpreter() {
    if (interpreter != null) {
      interpreter.close();
      interpreter = null;
    }
  }

  /** Kills Redis and starts it again on its port, empty: a Redis without persistence restarted. */
  void restartRedisEmpty() throws Exception {
    redisServer.kill();
    redisServer.launch();
  }

  record Answer(String text, Map<Object, Object> done) {
  }

  static GenerateCommand command(String prompt, Sampling sampling, String mode, String replay) {
    return new GenerateCommand(GenerateCommand.VERSION, UUID.randomUUID().toString(), prompt, sampling, Mode.of(mode), replay,
        "");
  }

  void publish(GenerateCommand command) throws Exception {
    producer.send(Topics.REQUESTS, command.requestId(), JSON.writeValueAsString(command)).get();
  }

  Answer send(GenerateCommand command) throws Exception {
    publish(command);
    return answerOf(command.requestId(), Duration.ofSeconds(60));
  }

  Answer answerOf(String id, Duration timeout) {
    await().atMost(timeout).pollInterval(Duration.ofMillis(50)).until(() -> records(id).stream()
        .anyMatch(r -> "done".equals(r.getValue().get("type"))));
    List<MapRecord<String, Object, Object>> records = records(id);
    Map<Object, Object> done = records.stream().filter(r -> "done".equals(r.getValue().get("type"))).findFirst()
        .orElseThrow().getValue();
    return new Answer(textOf(id), done);
  }

  /** How many span-job partitions the job consumers of {@code worker}, a worker started in this process, own now. */
  static int jobPartitions(ConfigurableApplicationContext worker) {
    MessageListenerContainer jobs = worker.getBean(KafkaListenerEndpointRegistry.class)
        .getListenerContainer("span-jobs");
    return jobs == null || jobs.getAssignedPartitions() == null ? 0 : jobs.getAssignedPartitions().size();
  }

  String textOf(String id) {
    return records(id).stream().filter(r -> "text".equals(r.getValue().get("type")))
        .map(r -> (String) r.getValue().get("text")).collect(Collectors.joining());
  }

  long doneCount(String id) {
    return records(id).stream().filter(r -> "done".equals(r.getValue().get("type"))).count();
  }

  List<MapRecord<String, Object, Object>> records(String id) {
    List<MapRecord<String, Object, Object>> records = redis.opsForStream().read(StreamOffset.fromStart(
        RedisKeys.output(id)));
    return records == null ? List.of() : records;
  }

  @Override
  public void close() {
    stopInterpreter();
    producer.destroy();
    redisFactory.destroy();
    redisServer.close();
    kafka.close();
  }
}
