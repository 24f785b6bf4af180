package io.pastaserve.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.pastaserve.common.lang.PastaLimits;
import io.pastaserve.common.lang.Program;
import io.pastaserve.common.messaging.GenerateCommand;
import io.pastaserve.common.request.Mode;
import io.pastaserve.common.request.Sampling;
import io.pastaserve.worker.DecoderWorkerApplication;
import io.pastaserve.worker.engine.Engine;
import io.pastaserve.worker.engine.EngineConfig;
import io.pastaserve.worker.engine.GenerationRequest;
import io.pastaserve.worker.engine.GenerationResult;
import io.pastaserve.worker.model.ExecutionProvider;
import io.pastaserve.worker.model.ModelRunner;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * The interpreter service and a decoder worker, each a real Spring Boot application, over a real KRaft broker and
 * a real Redis, with the bundled model: a request published to the request topic comes back assembled.
 */
class KafkaPathTest {

  static final Path MODEL = Suite.MODEL;
  static Suite suite;
  static ConfigurableApplicationContext worker;

  @BeforeAll
  static void start() throws Exception {
    suite = new Suite();
    suite.startInterpreter();
    worker = new SpringApplicationBuilder(DecoderWorkerApplication.class).properties(suite.shared())
        .properties("pasta.worker.model-dir=" + MODEL, "pasta.worker.device=cpu").run();
  }

  @AfterAll
  static void stop() {
    if (worker != null) {
      worker.close();
    }
    suite.close();
  }

  static Suite.Answer send(GenerateCommand command) throws Exception {
    return suite.send(command);
  }

  static GenerateCommand command(String prompt, Sampling sampling, String mode, String replay) {
    return Suite.command(prompt, sampling, mode, replay);
  }

  @Test
  void replayedPrograms_comeBackAssembled_inBothModes() throws Exception {
    List<String> transcripts = Files.readAllLines(MODEL.resolve("heldout-transcripts.txt"), StandardCharsets.UTF_8)
        .stream().limit(4).map(l -> l.replace("\\n", "\n")).toList();
    for (String transcript : transcripts) {
      String expected = Program.fromTranscript(transcript, PastaLimits.defaults()).assembledText();
      for (String mode : List.of("async", "serial")) {
        Suite.Answer answer = send(command("p", new Sampling(0, 1, 0, 0, 4096, List.of()), mode, transcript));
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
            GenerationResult local = engine.generate(new GenerationRequest("local", prompt, sampling,
                Mode.of(mode), Optional.empty()));
            Suite.Answer answer = send(command(prompt, sampling, mode, ""));
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
    suite.publish(command);
    suite.publish(command);
    Suite.Answer answer = suite.answerOf(command.requestId(), Duration.ofSeconds(60));
    Thread.sleep(500);
    assertThat(suite.doneCount(command.requestId())).isEqualTo(1);
    assertThat(suite.textOf(command.requestId())).isEqualTo("Two:\none\ntwo\nend").isEqualTo(answer.text());
  }

  @Test
  void cancellation_stopsEverySpan_freesTheCache_andEndsTheStream() throws Exception {
    String transcript = "Long:" + " word".repeat(900);
    GenerateCommand command = command("p", new Sampling(0, 1, 0, 0, 4096, List.of()), "async", transcript);
    suite.publish(command);
    await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(5))
        .until(() -> !suite.textOf(command.requestId()).isEmpty());
    suite.producer.send(io.pastaserve.common.messaging.Topics.CANCEL, command.requestId(),
        Suite.JSON.writeValueAsString(new io.pastaserve.common.messaging.CancelCommand(1, command.requestId(),
            "client went away"))).get();
    Suite.Answer answer = suite.answerOf(command.requestId(), Duration.ofSeconds(30));
    assertThat(answer.done()).containsEntry("finishReason", "cancelled");
    Engine engine = worker.getBean(Engine.class);
    await().atMost(Duration.ofSeconds(5)).until(() -> engine.load().get().kvTokens() == 0
        && engine.load().get().activeSpans() == 0);
    assertThat(suite.redis.hasKey(io.pastaserve.common.messaging.RedisKeys.tokens(command.requestId(), "0")))
        .isFalse();
    assertThat(answer.text().length()).isLessThan(transcript.length());
  }

  @Test
  void unparseableMessages_goToTheDeadLetterTopic_andServiceGoesOn() throws Exception {
    suite.producer.send(io.pastaserve.common.messaging.Topics.REQUESTS, "bad", "{not json").get();
    try (org.apache.kafka.clients.consumer.KafkaConsumer<String, String> consumer =
        new org.apache.kafka.clients.consumer.KafkaConsumer<>(Map.of(
            "bootstrap.servers", suite.kafka.bootstrapServers(), "group.id", "dlt-check",
            "auto.offset.reset", "earliest",
            "key.deserializer", org.apache.kafka.common.serialization.StringDeserializer.class,
            "value.deserializer", org.apache.kafka.common.serialization.StringDeserializer.class))) {
      consumer.subscribe(List.of(io.pastaserve.common.messaging.Topics.REQUESTS
          + io.pastaserve.common.messaging.Topics.DEAD_LETTER_SUFFIX));
      List<String> seen = new java.util.ArrayList<>();
      await().atMost(Duration.ofSeconds(30)).until(() -> {
        consumer.poll(Duration.ofMillis(200)).forEach(r -> seen.add(r.value()));
        return seen.contains("{not json");
      });
    }
    Suite.Answer answer = send(command("p", new Sampling(0, 1, 0, 0, 4096, List.of()), "async", "still here"));
    assertThat(answer.text()).isEqualTo("still here");
  }
}
