package io.pastaserve.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.pastaserve.common.messaging.GenerateCommand;
import io.pastaserve.common.request.Mode;
import io.pastaserve.common.request.Sampling;
import io.pastaserve.testing.ServiceProcess;
import io.pastaserve.worker.engine.Engine;
import io.pastaserve.worker.engine.EngineConfig;
import io.pastaserve.worker.engine.GenerationRequest;
import io.pastaserve.worker.model.ExecutionProvider;
import io.pastaserve.worker.model.ModelRunner;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * Two decoder workers as real processes; one goes while requests are decoding — killed with SIGKILL (its heartbeat
 * expires and the interpreter hands its requests out again), or stopped with SIGTERM and a short drain (it hands
 * them over itself). The other resumes them from the token ids in Redis: every request ends with the text it would
 * have had, once: greedy or seeded sampling, async or serial.
 */
class WorkerFailoverTest {

  /** The worker's {@code pasta_engine_spans_running} gauge, read from its Prometheus endpoint. */
  static double activeSpans(ServiceProcess worker) throws Exception {
    java.net.http.HttpResponse<String> response = java.net.http.HttpClient.newHttpClient().send(
        java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + worker.port()
            + "/actuator/prometheus")).build(), java.net.http.HttpResponse.BodyHandlers.ofString());
    return response.body().lines().filter(l -> l.startsWith("pasta_engine_spans_running"))
        .mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1))).sum();
  }

  static final Sampling GREEDY = new Sampling(0, 1, 0, 0, 3000, List.of());
  /** Seeded sampling: a resumed span must go on with the draws it would have had. */
  static final Sampling SAMPLED = new Sampling(1.0, 1, 0, 4242, 3000, List.of());

  /** One request of the test: its prompt, how its tokens are chosen, its mode. */
  private record Case(String prompt, Sampling sampling, String mode) {

    GenerationRequest toEngine(String id) {
      return GenerationRequest.of(id, prompt, sampling, Mode.of(mode));
    }
  }

  @Test
  void killingAWorkerMidSpan_losesAndDuplicatesNothing() throws Exception {
    failover(false);
  }

  @Test
  void stoppingAWorkerMidSpan_handsItsRequestsOver() throws Exception {
    failover(true);
  }

  private void failover(boolean graceful) throws Exception {
    List<String> prompts = Suite.heldoutPrompts().subList(0, 6);
    // greedy and seeded sampling, async and serial: each ends with the text it has uninterrupted
    List<Case> cases = new ArrayList<>();
    for (int i = 0; i < prompts.size(); i++) {
      cases.add(switch (i % 3) {
        case 0 -> new Case(prompts.get(i), GREEDY, "async");
        case 1 -> new Case(prompts.get(i), SAMPLED, "async");
        default -> new Case(prompts.get(i), SAMPLED, "serial");
      });
    }
    Map<Case, String> expected = new HashMap<>();
    try (ModelRunner runner = ModelRunner.open(Suite.MODEL, ExecutionProvider.CPU, 0);
        Engine engine = new Engine(runner, EngineConfig.defaults())) {
      for (Case c : cases) {
        expected.put(c, engine.generate(c.toEngine("x")).text());
      }
    }
    Path jar = Suite.ROOT.resolve("decoder-worker/target").resolve(
        "decoder-worker-" + System.getProperty("project.version", "0.1.0-SNAPSHOT") + "-exec.jar");
    try (Suite suite = new Suite()) {
      suite.startInterpreter();
      List<String> args = new ArrayList<>(List.of(suite.sharedArgs()));
      args.addAll(List.of("--pasta.worker.model-dir=" + Suite.MODEL, "--pasta.worker.device=cpu",
          "--pasta.worker.intra-op-threads=1",
          // a dead worker's partitions move after 6 s instead of the default 45 s
          "--spring.kafka.consumer.properties.session.timeout.ms=6000",
          "--spring.kafka.consumer.properties.heartbeat.interval.ms=1000",
          // a stopped worker waits this long for its requests, then hands the rest over
          "--pasta.worker.drain-timeout=200ms"));
      try (ServiceProcess a = ServiceProcess.start(jar, Duration.ofSeconds(90), args.toArray(String[]::new));
          ServiceProcess b = ServiceProcess.start(jar, Duration.ofSeconds(90), args.toArray(String[]::new))) {
        // let the group settle (the second worker's arrival moved partitions) before any job is sent
        await().atMost(Duration.ofSeconds(30)).until(() -> a.settledIn("pasta-workers")
            && b.settledIn("pasta-workers"));
        Thread.sleep(2000);
        List<GenerateCommand> commands = new ArrayList<>();
        for (Case k : cases) {
          GenerateCommand c = Suite.command(k.prompt(), k.sampling(), k.mode(), "");
          commands.add(c);
          suite.publish(c);
        }
        // wait until answers are streaming while a worker is decoding, then kill the busier one
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(5)).until(() ->
            commands.stream().filter(c -> !suite.textOf(c.requestId()).isEmpty()).count() >= 2
                && Math.max(activeSpans(a), activeSpans(b)) > 0);
        // kill the worker that is decoding the most spans right now; the other one must take its requests over
        ServiceProcess victim = activeSpans(a) >= activeSpans(b) ? a : b;
        ServiceProcess survivor = victim == a ? b : a;
        double busy = activeSpans(victim);
        int logBeforeKill = survivor.log().length();
        if (graceful) {
          // ONNX Runtime's own shutdown hook would release its environment under the forward passes of the drain
          assertThat(victim.log()).contains("ONNX Runtime's shutdown hook removed");
          assertThat(victim.stop(Duration.ofSeconds(30))).as("the stopped worker exits").isTrue();
          assertThat(victim.log()).as("a clean exit").doesNotContain("SIGSEGV");
          assertThat(victim.log()).containsPattern("handed [1-9][0-9]* running requests to other workers");
        } else {
          victim.kill();
        }
        for (int i = 0; i < commands.size(); i++) {
          GenerateCommand c = commands.get(i);
          Suite.Answer answer = suite.answerOf(c.requestId(), Duration.ofSeconds(120));
          assertThat(answer.text()).as("request %d (%s)", i, cases.get(i)).isEqualTo(expected.get(cases.get(i)));
          assertThat(answer.done()).containsEntry("finishReason", "stop");
        }
        Thread.sleep(1000);
        for (GenerateCommand c : commands) {
          assertThat(suite.doneCount(c.requestId())).isEqualTo(1);
        }
        assertThat(survivor.alive()).isTrue();
        // the survivor took the gone worker's requests over, resuming them from their recorded tokens
        assertThat(survivor.log().substring(logBeforeKill)).contains("resuming request from");
      }
    }
  }
}
