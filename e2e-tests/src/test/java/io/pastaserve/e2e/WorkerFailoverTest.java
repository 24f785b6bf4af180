package io.pastaserve.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.pastaserve.common.messaging.GenerateCommand;
import io.pastaserve.common.messaging.Sampling;
import io.pastaserve.testing.ServiceProcess;
import io.pastaserve.worker.engine.Engine;
import io.pastaserve.worker.engine.EngineConfig;
import io.pastaserve.worker.engine.GenerationRequest;
import io.pastaserve.worker.engine.Mode;
import io.pastaserve.worker.model.ExecutionProvider;
import io.pastaserve.worker.model.ModelRunner;
import io.pastaserve.worker.sampling.SamplingParams;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * Two decoder workers as real processes; one is killed with SIGKILL while requests are decoding. The other
 * takes over its jobs after the rebalance and resumes them from the token ids in Redis: every request ends
 * with the text it would have had, once.
 */
class WorkerFailoverTest {

  static final Sampling GREEDY = new Sampling(0, 1, 0, 0, 3000, List.of());

  @Test
  void killingAWorkerMidSpan_losesAndDuplicatesNothing() throws Exception {
    List<String> prompts = Files.readAllLines(Suite.MODEL.resolve("heldout-prompts.txt"), StandardCharsets.UTF_8)
        .subList(0, 6);
    Map<String, String> expected = new HashMap<>();
    try (ModelRunner runner = ModelRunner.open(Suite.MODEL, ExecutionProvider.CPU, 0);
        Engine engine = new Engine(runner, EngineConfig.defaults())) {
      for (String p : prompts) {
        expected.put(p, engine.generate(GenerationRequest.of("x", p, SamplingParams.greedy(3000), Mode.ASYNC)).text());
      }
    }
    Path jar = Suite.ROOT.resolve("decoder-worker/target").resolve(
        "decoder-worker-" + System.getProperty("project.version", "0.1.0-SNAPSHOT") + "-exec.jar");
    try (Suite suite = new Suite()) {
      suite.startInterpreter();
      List<String> args = new ArrayList<>(List.of(suite.sharedArgs()));
      args.addAll(List.of("--pasta.worker.model-dir=" + Suite.MODEL, "--pasta.worker.provider=cpu",
          "--pasta.worker.intra-op-threads=1",
          // a dead worker's partitions move after 6 s instead of the default 45 s
          "--spring.kafka.consumer.properties.session.timeout.ms=6000",
          "--spring.kafka.consumer.properties.heartbeat.interval.ms=1000"));
      try (ServiceProcess a = ServiceProcess.start(jar, Duration.ofSeconds(90), args.toArray(String[]::new));
          ServiceProcess b = ServiceProcess.start(jar, Duration.ofSeconds(90), args.toArray(String[]::new))) {
        List<GenerateCommand> commands = new ArrayList<>();
        for (String p : prompts) {
          GenerateCommand c = Suite.command(p, GREEDY, "async", "");
          commands.add(c);
          suite.publish(c);
        }
        // wait until every request has streamed some text, none has finished, then kill one worker
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(20)).until(() ->
            commands.stream().allMatch(c -> !suite.textOf(c.requestId()).isEmpty())
                || commands.stream().anyMatch(c -> suite.doneCount(c.requestId()) > 0));
        long unfinished = commands.stream().filter(c -> suite.doneCount(c.requestId()) == 0).count();
        a.kill();
        assertThat(unfinished).as("requests still decoding when the worker died").isPositive();
        for (int i = 0; i < commands.size(); i++) {
          GenerateCommand c = commands.get(i);
          Suite.Answer answer = suite.answerOf(c.requestId(), Duration.ofSeconds(120));
          assertThat(answer.text()).as("request %d (%s)", i, prompts.get(i)).isEqualTo(expected.get(prompts.get(i)));
          assertThat(answer.done()).containsEntry("finishReason", "stop");
        }
        Thread.sleep(1000);
        for (GenerateCommand c : commands) {
          assertThat(suite.doneCount(c.requestId())).isEqualTo(1);
        }
        assertThat(b.alive()).isTrue();
        // the survivor really took over: it resumed at least one request from the token ids in Redis
        assertThat(b.log()).contains("resuming request from");
      }
    }
  }
}
