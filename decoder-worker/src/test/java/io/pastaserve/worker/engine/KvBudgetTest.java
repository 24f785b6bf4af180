package io.pastaserve.worker.engine;

import static org.assertj.core.api.Assertions.assertThat;

import io.pastaserve.common.lang.PastaLimits;
import io.pastaserve.common.request.FinishReason;
import io.pastaserve.common.request.Mode;
import io.pastaserve.common.request.Sampling;
import io.pastaserve.worker.TestModels;
import io.pastaserve.worker.model.ModelRunner;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Every span holds its whole past, so a fork holds its parent's prefix once more: that counts in the cache budget. */
class KvBudgetTest {

  static ModelRunner runner;

  @BeforeAll
  static void open() {
    runner = TestModels.pastaTiny();
  }

  @Test
  void theCacheHeld_neverExceedsTheBudget_withManyForks_andAnswersStillComplete() throws Exception {
    // long prompts: each fork copies one
    String preamble = "Please answer carefully, in short points, and keep each point brief and useful. ".repeat(6);
    List<String> prompts = new ArrayList<>();
    for (String p : TestModels.heldoutPrompts().subList(0, 6)) {
      prompts.add(preamble + p);
    }
    long budget = 4_000;
    int maxTokens = 1000;
    EngineConfig config = new EngineConfig(16, budget, 512, 1024, new PastaLimits(32, 2, 64),
        ReservationPolicy.PREDICTED);
    List<GenerationResult> results = new ArrayList<>();
    long peak;
    try (Engine engine = new Engine(runner, config)) {
      engine.profile(true);
      List<CompletableFuture<GenerationResult>> futures = new ArrayList<>();
      for (int i = 0; i < prompts.size(); i++) {
        futures.add(engine.submit(GenerationRequest.of("k" + i, prompts.get(i), Sampling.greedy(maxTokens),
            Mode.ASYNC)));
      }
      for (CompletableFuture<GenerationResult> f : futures) {
        results.add(f.get(120, TimeUnit.SECONDS));
      }
      peak = engine.drainProfile().stream().mapToLong(Engine.StepProfile::kvTokens).max().orElse(0);
      assertThat(engine.load().get().kvTokens()).isZero();
    }
    int forks = 0;
    for (GenerationResult r : results) {
      assertThat(r.finishReason()).as("%s", r.id()).isEqualTo(FinishReason.STOP);
      assertThat(r.text()).as("%s", r.id()).isNotBlank();
      forks += r.stats().forks();
    }
    assertThat(forks).as("forks started").isPositive();
    assertThat(peak).as("cache tokens held at the busiest step").isLessThanOrEqualTo(budget);
  }
}
