package io.pastaserve.worker.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.pastaserve.common.request.FinishReason;
import io.pastaserve.common.request.Mode;
import io.pastaserve.common.request.Sampling;
import io.pastaserve.worker.TestModels;
import io.pastaserve.worker.model.ModelRunner;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class SchedulerChurnTest {

  static ModelRunner runner;

  @BeforeAll
  static void open() {
    runner = TestModels.tinyRandom();
  }

  @Test
  void manyRequestsEnteringAndLeaving_allComplete_andFreeTheirCache() throws Exception {
    Random random = new Random(3);
    try (Engine engine = new Engine(runner, EngineConfig.defaults().withMaxBatch(5))) {
      List<CompletableFuture<GenerationResult>> futures = new ArrayList<>();
      List<String> transcripts = new ArrayList<>();
      for (int i = 0; i < 40; i++) {
        String t = ForkJoinReferenceTest.randomProgram(random);
        transcripts.add(t);
        Mode mode = i % 3 == 0 ? Mode.SERIAL : Mode.ASYNC;
        futures.add(i % 4 == 3
            ? engine.submit(GenerationRequest.of("g" + i, "p" + i, Sampling.greedy(30), mode))
            : engine.submit(GenerationRequest.replay("r" + i, "p" + i, t, mode)));
        if (i % 7 == 0) {
          Thread.sleep(random.nextInt(20));
        }
      }
      for (int i = 0; i < futures.size(); i++) {
        GenerationResult r = futures.get(i).get();
        if (i % 4 != 3) {
          assertThat(r.annotated()).as("request %d", i).isEqualTo(transcripts.get(i));
          assertThat(r.finishReason()).isEqualTo(FinishReason.STOP);
        } else {
          assertThat(r.stats().totalTokens()).isBetween(1L, 30L);
        }
      }
      Engine.EngineLoad load = engine.load().get();
      assertThat(load.kvTokens()).isZero();
      assertThat(load.activeSpans()).isZero();
      assertThat(load.running()).isZero();
      assertThat(load.batchRows()).isZero();
    }
  }

  @Test
  void cancellationMidSpan_endsEverySpan_andFreesTheCache() throws Exception {
    String chunk = "x".repeat(300);
    String transcript = "a<promise topic=\"one\"/><async topic=\"one\">" + chunk + "</async><promise topic=\"two\"/>"
        + "<async topic=\"two\">" + chunk + "</async>" + "b".repeat(200) + "<sync/>done";
    AtomicInteger steps = new AtomicInteger();
    try (Engine engine = new Engine(runner, EngineConfig.defaults())) {
      engine.observe((request, span, index, logits) -> {
        steps.incrementAndGet();
        try {
          Thread.sleep(1); // slow the steps down so that the cancel lands mid-span
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      });
      CompletableFuture<GenerationResult> future = engine.submit(GenerationRequest.replay("c", "p", transcript,
          Mode.ASYNC));
      await().atMost(Duration.ofSeconds(20)).until(() -> steps.get() > 60);
      assertThat(engine.load().get().kvTokens()).isPositive();
      engine.cancel("c");
      GenerationResult result = future.get();
      assertThat(result.finishReason()).isEqualTo(FinishReason.CANCELLED);
      assertThat(result.stats().totalTokens()).isLessThan(700);
      Engine.EngineLoad load = engine.load().get();
      assertThat(load.kvTokens()).isZero();
      assertThat(load.activeSpans()).isZero();
      assertThat(load.batchRows()).isZero();
    }
  }

  @Test
  void fullKvBudget_queuesRequests_ratherThanFailing() throws Exception {
    // each request needs its prompt plus 60 tokens; the budget holds one at a time
    EngineConfig tight = EngineConfig.defaults().withKvBudgetTokens(100);
    try (Engine engine = new Engine(runner, tight)) {
      List<CompletableFuture<GenerationResult>> futures = new ArrayList<>();
      for (int i = 0; i < 6; i++) {
        futures.add(engine.submit(new GenerationRequest("q" + i, "prompt", Sampling.greedy(60), Mode.ASYNC,
            Optional.empty())));
      }
      Engine.EngineLoad load = engine.load().get();
      assertThat(load.running()).isLessThanOrEqualTo(1);
      assertThat(load.queued() + load.running()).isGreaterThan(1);
      for (CompletableFuture<GenerationResult> f : futures) {
        assertThat(f.get().finishReason()).isIn(FinishReason.STOP, FinishReason.LENGTH);
      }
      assertThat(engine.load().get().kvTokens()).isZero();
    }
  }

  @Test
  void promptLongerThanTheContext_isRefusedClearly() {
    try (Engine engine = new Engine(runner, EngineConfig.defaults())) {
      CompletableFuture<GenerationResult> f = engine.submit(GenerationRequest.of("long", "y".repeat(3000),
          Sampling.greedy(5), Mode.ASYNC));
      assertThat(f).failsWithin(Duration.ofSeconds(5)).withThrowableThat()
          .withMessageContaining("context holds 2048");
    }
  }
}
