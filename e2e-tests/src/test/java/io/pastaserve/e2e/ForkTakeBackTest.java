package io.pastaserve.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
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
import java.util.List;
import org.junit.jupiter.api.Test;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * Forks placed where no worker takes them: one worker, alone, placing every fork on the span-jobs topic
 * ({@code spread}) while it holds as many requests as it may ({@code max-requests=1}), so its job consumers are
 * paused and nobody claims the forks' jobs. Each fork is taken back after {@code remote-fork-claim-timeout} and
 * decoded beside its parent: the answer is the in-process engine's, instead of a request that waits for forks nobody
 * decodes until its deadline.
 */
class ForkTakeBackTest {

  @Test
  void forksNobodyClaims_areDecodedByTheirRequestsWorker_andTheAnswerIsTheEnginesAnswer() throws Exception {
    String prompt = Suite.heldoutPrompts().stream().filter(p -> p.contains("canaries")).findFirst().orElseThrow();
    Sampling sampling = new Sampling(0, 1, 0, 0, 3000, List.of());
    GenerationResult expected;
    try (ModelRunner runner = ModelRunner.open(Suite.MODEL, ExecutionProvider.CPU, 0);
        Engine engine = new Engine(runner, EngineConfig.defaults())) {
      expected = engine.generate(GenerationRequest.of("local", prompt, sampling, Mode.ASYNC));
    }
    assertThat(expected.stats().forks()).as("forks in the answer").isPositive();
    try (Suite suite = new Suite()) {
      suite.startInterpreter();
      ConfigurableApplicationContext worker = new SpringApplicationBuilder(DecoderWorkerApplication.class)
          .properties(suite.shared())
          .properties("pasta.worker.model-dir=" + Suite.MODEL, "pasta.worker.device=cpu",
              "pasta.worker.fork-placement=spread", "pasta.worker.max-requests=1",
              "pasta.worker.remote-fork-claim-timeout=2s").run();
      try {
        GenerateCommand command = Suite.command(prompt, sampling, "async", "");
        Suite.Answer answer = suite.send(command);
        assertThat(answer.text()).isEqualTo(expected.text());
        assertThat(answer.done()).containsEntry("finishReason", "stop");
        Counter unclaimed = worker.getBean(MeterRegistry.class).find("pasta.worker.forks.taken.back")
            .tag("reason", "unclaimed").counter();
        assertThat(unclaimed).isNotNull();
        assertThat(unclaimed.count()).as("forks taken back, unclaimed").isPositive();
      } finally {
        worker.close();
      }
    }
  }
}
