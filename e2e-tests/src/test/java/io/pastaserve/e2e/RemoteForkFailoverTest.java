package io.pastaserve.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.pastaserve.common.messaging.GenerateCommand;
import io.pastaserve.common.messaging.RedisKeys;
import io.pastaserve.common.messaging.RequestOwner;
import io.pastaserve.common.request.Mode;
import io.pastaserve.common.request.Sampling;
import io.pastaserve.testing.ServiceProcess;
import io.pastaserve.worker.engine.Engine;
import io.pastaserve.worker.engine.EngineConfig;
import io.pastaserve.worker.engine.GenerationRequest;
import io.pastaserve.worker.model.ExecutionProvider;
import io.pastaserve.worker.model.ModelRunner;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Two decoder workers as real processes that place every fork on a worker with room
 * ({@code pasta.worker.fork-placement=spread}); the one seen decoding a fork's job is killed with SIGKILL mid-span.
 * The victim decodes a fork of a request the other worker runs; the fork's claim names a worker whose heartbeat is
 * gone, so the request's worker takes the fork back and decodes it itself at once rather than after
 * {@code remote-fork-timeout} (60 s); a request that ran on the killed worker is resumed by the other. Every request
 * ends with the in-process engine's text, once, well within the timeout; the interpreter records each span's tokens
 * once though they arrive from the killed worker and again from the request's worker.
 */
class RemoteForkFailoverTest {

  /** Greedy and seeded sampling: a fork decoded again must draw what it drew the first time. */
  static final List<Sampling> SAMPLINGS = List.of(new Sampling(0, 1, 0, 0, 3000, List.of()),
      new Sampling(1.0, 1, 0, 4242, 3000, List.of()));

  /** One request: its prompt, sampling, and the engine's text for it. */
  private record Case(String prompt, Sampling sampling, String expected) {
  }

  /** The sum of the samples of {@code metric} (whose labels contain {@code label}) on the worker's endpoint. */
  static double metric(ServiceProcess worker, String metric, String label) {
    try {
      HttpResponse<String> response = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(
          "http://127.0.0.1:" + worker.port() + "/actuator/prometheus")).timeout(Duration.ofSeconds(2)).build(),
          HttpResponse.BodyHandlers.ofString());
      return response.body().lines().filter(l -> l.startsWith(metric) && l.contains(label))
          .mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1))).sum();
    } catch (java.io.IOException e) {
      return 0;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return 0;
    }
  }

  /**
   * The worker that holds the claim of a fork whose request the other worker runs (as Redis has them) while its
   * {@code pasta_worker_remote_forks_decoding} says it decodes one; null when none.
   */
  static ServiceProcess decodingAForkForTheOther(Suite suite, List<GenerateCommand> commands, ServiceProcess a,
      ServiceProcess b) {
    for (GenerateCommand c : commands) {
      Object parent = suite.redis.opsForHash().get(RedisKeys.request(c.requestId()), RequestOwner.FIELD);
      for (String key : suite.redis.keys(RedisKeys.forkOwner(c.requestId(), "*"))) {
        String owner = suite.redis.opsForValue().get(key);
        if (owner == null || parent == null || parent.toString().isEmpty() || owner.equals(parent)) {
          continue;
        }
        for (ServiceProcess w : List.of(a, b)) {
          if (owner.contains("-" + w.pid() + "-") && metric(w, "pasta_worker_remote_forks_decoding", "") > 0) {
            return w;
          }
        }
      }
    }
    return null;
  }

  @Test
  void killingTheWorkerThatDecodesARemoteFork_resumesTheForkElsewhereAtOnce_withTheSameText() throws Exception {
    List<Case> cases = new ArrayList<>();
    try (ModelRunner runner = ModelRunner.open(Suite.MODEL, ExecutionProvider.CPU, 0);
        Engine engine = new Engine(runner, EngineConfig.defaults())) {
      for (String prompt : Suite.heldoutPrompts()) {
        if (cases.size() == 4) {
          break;
        }
        Sampling sampling = SAMPLINGS.get(cases.size() % SAMPLINGS.size());
        var local = engine.generate(GenerationRequest.of("x", prompt, sampling, Mode.ASYNC));
        if (local.stats().forks() >= 2) {
          cases.add(new Case(prompt, sampling, local.text()));
        }
      }
    }
    assertThat(cases).as("prompts whose answers fork").hasSize(4);
    Path jar = Suite.ROOT.resolve("decoder-worker/target").resolve(
        "decoder-worker-" + System.getProperty("project.version", "0.1.0-SNAPSHOT") + "-exec.jar");
    try (Suite suite = new Suite()) {
      suite.startInterpreter();
      List<String> args = new ArrayList<>(List.of(suite.sharedArgs()));
      args.addAll(List.of("--pasta.worker.model-dir=" + Suite.MODEL, "--pasta.worker.device=cpu",
          "--pasta.worker.intra-op-threads=1", "--pasta.worker.fork-placement=spread",
          // a dead worker's partitions move after 6 s instead of the default 45 s
          "--spring.kafka.consumer.properties.session.timeout.ms=6000",
          "--spring.kafka.consumer.properties.heartbeat.interval.ms=1000"));
      try (ServiceProcess a = ServiceProcess.start(jar, Duration.ofSeconds(90), args.toArray(String[]::new));
          ServiceProcess b = ServiceProcess.start(jar, Duration.ofSeconds(90), args.toArray(String[]::new))) {
        await().atMost(Duration.ofSeconds(30)).until(() -> a.settledIn("pasta-workers")
            && b.settledIn("pasta-workers"));
        Thread.sleep(2000);
        List<GenerateCommand> commands = new ArrayList<>();
        for (Case c : cases) {
          GenerateCommand command = Suite.command(c.prompt(), c.sampling(), "async", "");
          commands.add(command);
          suite.publish(command);
        }
        // the first worker seen decoding a fork of a request that the other worker runs is killed
        ServiceProcess[] victim = new ServiceProcess[1];
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(5)).until(() -> {
          victim[0] = decodingAForkForTheOther(suite, commands, a, b);
          return victim[0] != null;
        });
        ServiceProcess survivor = victim[0] == a ? b : a;
        victim[0].kill();
        long killed = System.nanoTime();
        for (int i = 0; i < commands.size(); i++) {
          Duration left = Duration.ofSeconds(30).minusNanos(System.nanoTime() - killed);
          Suite.Answer answer = suite.answerOf(commands.get(i).requestId(), left.isNegative() ? Duration.ZERO : left);
          assertThat(answer.text()).as("request %d", i).isEqualTo(cases.get(i).expected());
          assertThat(answer.done()).containsEntry("finishReason", "stop");
        }
        assertThat(Duration.ofNanos(System.nanoTime() - killed)).as("all answers, from the kill")
            .isLessThan(Duration.ofSeconds(30));
        assertThat(metric(survivor, "pasta_worker_forks_taken_back_total", "reason=\"owner_gone\""))
            .as("forks whose claim named the killed worker, decoded by their request's worker").isPositive();
        assertThat(metric(survivor, "pasta_worker_forks_taken_back_total", "reason=\"timeout\"")).isZero();
        Thread.sleep(1000);
        for (GenerateCommand c : commands) {
          assertThat(suite.doneCount(c.requestId())).isEqualTo(1);
        }
        assertThat(survivor.alive()).isTrue();
      }
    }
  }
}
