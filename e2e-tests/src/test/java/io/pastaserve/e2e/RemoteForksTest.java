package io.pastaserve.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.pastaserve.common.messaging.GenerateCommand;
import io.pastaserve.common.messaging.SpanTiming;
import io.pastaserve.common.output.OutputCodec;
import io.pastaserve.common.output.OutputEntry;
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
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * Two decoder workers that place every fork on a worker with room ({@code pasta.worker.fork-placement=spread}), the
 * interpreter, a real broker and Redis: a request's forks decode on both workers — each fork's job on the span-jobs
 * topic, its prefix rebuilt from the request's tokens, its tokens back on the fork-results topic for the join — and
 * the answers are the in-process engine's, greedy and seeded, in both modes.
 */
class RemoteForksTest {

  static Suite suite;
  static final List<ConfigurableApplicationContext> workers = new ArrayList<>();

  @BeforeAll
  static void start() throws Exception {
    suite = new Suite();
    suite.startInterpreter();
    // two job consumers each for the topic's four partitions: once both workers have joined, each owns two
    for (int i = 0; i < 2; i++) {
      workers.add(new SpringApplicationBuilder(DecoderWorkerApplication.class).properties(suite.shared())
          .properties("pasta.worker.model-dir=" + Suite.MODEL, "pasta.worker.device=cpu",
              "pasta.worker.fork-placement=spread", "pasta.worker.topic-partitions=2",
              // the request's worker decides how its forks travel: one sends its cache, the other token ids
              "pasta.worker.fork-prefix=" + (i == 0 ? "kv" : "tokens")).run());
    }
    await().atMost(Duration.ofSeconds(90)).until(() -> workers.stream().allMatch(w -> Suite.jobPartitions(w) > 0));
  }

  @AfterAll
  static void stop() {
    workers.forEach(ConfigurableApplicationContext::close);
    suite.close();
  }

  @Test
  void forksSpreadOverTwoWorkers_giveTheInProcessEnginesAnswers_greedyAndSeeded_inBothModes() throws Exception {
    List<String> prompts = Files.readAllLines(Suite.MODEL.resolve("heldout-prompts.txt"), StandardCharsets.UTF_8);
    int forks = 0;
    int elsewhere = 0;
    try (ModelRunner runner = ModelRunner.open(Suite.MODEL, ExecutionProvider.CPU, 0);
        Engine engine = new Engine(runner, EngineConfig.defaults())) {
      int tried = 0;
      for (String prompt : prompts) {
        if (tried == 3) {
          break;
        }
        if (engine.generate(GenerationRequest.of("probe", prompt, Sampling.greedy(1000), Mode.ASYNC)).stats()
            .forks() == 0) {
          continue;
        }
        tried++;
        for (Sampling sampling : List.of(new Sampling(0, 1, 0, 0, 3000, List.of()),
            new Sampling(0.8, 0.95, 0, 1234, 3000, List.of()))) {
          for (String mode : List.of("async", "serial")) {
            GenerationResult local = engine.generate(GenerationRequest.of("local", prompt, sampling,
                Mode.of(mode)));
            GenerateCommand command = Suite.command(prompt, sampling, mode, "");
            Suite.Answer answer = suite.send(command);
            assertThat(answer.text()).as("%s / %s / t=%s", prompt, mode, sampling.temperature())
                .isEqualTo(local.text());
            assertThat(answer.done()).containsEntry("finishReason", local.finishReason().name().toLowerCase());
            forks += local.stats().forks();
            elsewhere += forksDecodedElsewhere(answer.done());
          }
        }
      }
    }
    assertThat(forks).as("forks in the answers").isPositive();
    assertThat(elsewhere).as("forks decoded by the worker that did not run their request").isPositive();
    assertThat(workers.stream().mapToDouble(w -> prefixes(w, "kv")).sum()).as("forks started from a parent's cache")
        .isPositive();
    assertThat(workers.stream().mapToDouble(w -> prefixes(w, "tokens")).sum()).as("forks rebuilt from token ids")
        .isPositive();
    assertThat(workers.stream().mapToLong(w -> w.getBean(io.micrometer.core.instrument.MeterRegistry.class)
        .get("pasta.worker.remote.fork.join.wait").timer().count()).sum()).as("joins of remote forks timed")
        .isPositive();
  }

  private static double prefixes(ConfigurableApplicationContext worker, String source) {
    io.micrometer.core.instrument.Counter counter = worker.getBean(io.micrometer.core.instrument.MeterRegistry.class)
        .find("pasta.worker.fork.prefixes").tag("source", source).counter();
    return counter == null ? 0 : counter.count();
  }

  /**
   * A request cancelled while a fork of it decodes on a worker reaches that worker too: the answer ends
   * {@code cancelled}, a fork decoding elsewhere is cancelled there (not decoded to its end), and no worker has a
   * span of it running, or cache held for it, a moment later.
   */
  @Test
  void aCancellation_reachesTheWorkerDecodingAForkOfTheRequest() throws Exception {
    boolean caught = false;
    for (String prompt : Suite.heldoutPrompts()) {
      GenerateCommand command = Suite.command(prompt, new Sampling(0, 1, 0, 0, 3000, List.of()), "async", "");
      suite.publish(command);
      await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(1)).until(() ->
          workers.stream().anyMatch(w -> remoteForksDecoding(w) > 0) || suite.doneCount(command.requestId()) > 0);
      if (suite.doneCount(command.requestId()) > 0) {
        continue;
      }
      double cancelledBefore = workers.stream().mapToDouble(RemoteForksTest::forkJobsCancelled).sum();
      suite.producer.send(io.pastaserve.common.messaging.Topics.CANCEL, command.requestId(),
          Suite.JSON.writeValueAsString(new io.pastaserve.common.messaging.CancelCommand(1, command.requestId(),
              "client went away"))).get();
      Suite.Answer answer = suite.answerOf(command.requestId(), Duration.ofSeconds(30));
      if (!"cancelled".equals(answer.done().get("finishReason"))) {
        continue;
      }
      await().atMost(Duration.ofSeconds(5)).until(() -> {
        for (ConfigurableApplicationContext w : workers) {
          Engine engine = w.getBean(Engine.class);
          if (remoteForksDecoding(w) > 0 || engine.load().get().activeSpans() > 0
              || engine.load().get().kvTokens() > 0) {
            return false;
          }
        }
        return true;
      });
      // a fork decoding elsewhere was cancelled there, not decoded to its end (unless every fork of the request
      // that was decoding ended just before the cancellation came: then the next prompt tries again)
      if (workers.stream().mapToDouble(RemoteForksTest::forkJobsCancelled).sum() > cancelledBefore) {
        caught = true;
        break;
      }
    }
    assertThat(caught).as("a request cancelled while a fork of it decoded on a worker").isTrue();
  }

  private static double forkJobsCancelled(ConfigurableApplicationContext worker) {
    io.micrometer.core.instrument.Counter counter = worker.getBean(io.micrometer.core.instrument.MeterRegistry.class)
        .find("pasta.worker.fork.jobs.unfinished").tag("reason", "cancelled").counter();
    return counter == null ? 0 : counter.count();
  }

  private static double remoteForksDecoding(ConfigurableApplicationContext worker) {
    io.micrometer.core.instrument.Gauge gauge = worker.getBean(io.micrometer.core.instrument.MeterRegistry.class)
        .find("pasta.worker.remote.forks.decoding").gauge();
    return gauge == null ? 0 : gauge.value();
  }

  /** The forks that a worker other than the main span's decoded, as the answer's final entry names them. */
  private static int forksDecodedElsewhere(Map<Object, Object> done) {
    Map<String, String> fields = new java.util.HashMap<>();
    done.forEach((k, v) -> fields.put(String.valueOf(k), String.valueOf(v)));
    OutputEntry.Done entry = (OutputEntry.Done) OutputCodec.decode(fields).orElseThrow();
    String main = entry.spans().stream().filter(t -> t.spanId().equals("0")).map(SpanTiming::worker).findFirst()
        .orElse("");
    return (int) entry.spans().stream().filter(t -> !t.spanId().equals("0") && !t.worker().isEmpty()
        && !t.worker().equals(main)).count();
  }
}
