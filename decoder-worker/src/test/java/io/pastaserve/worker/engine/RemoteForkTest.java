package io.pastaserve.worker.engine;

import static org.assertj.core.api.Assertions.assertThat;

import io.pastaserve.common.lang.SpanId;
import io.pastaserve.common.request.Mode;
import io.pastaserve.common.request.Sampling;
import io.pastaserve.worker.TestModels;
import io.pastaserve.worker.model.ExecutionProvider;
import io.pastaserve.worker.model.ModelRunner;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Forks placed on another engine (two engines, two runners: what two workers are): the parent's engine sends each
 * fork as a {@link RemoteFork}, the other engine rebuilds the fork's prefix from the request's known tokens and
 * decodes the fork alone, and its tokens come back for the join. The answers are the ones one engine gives alone,
 * greedy and seeded, in both modes.
 */
class RemoteForkTest {

  static ModelRunner here;
  static ModelRunner there;

  @BeforeAll
  static void open() {
    here = ModelRunner.open(TestModels.PASTA_TINY_DIR, ExecutionProvider.CPU, 1);
    there = ModelRunner.open(TestModels.PASTA_TINY_DIR, ExecutionProvider.CPU, 1);
  }

  @AfterAll
  static void close() {
    here.close();
    there.close();
  }

  @Test
  void forksSpreadToAnotherEngine_giveTheAnswersOfOneEngine_greedyAndSeeded_inBothModes() throws Exception {
    List<String> prompts = forkingPrompts(4);
    for (Sampling sampling : List.of(Sampling.greedy(600), new Sampling(1.0, 1.0, 0, 77, 600, List.of()))) {
      for (Mode mode : Mode.values()) {
        compare(prompts, sampling, mode, ForkPlacement.SPREAD, EngineConfig.defaults(), true);
      }
    }
  }

  @Test
  void withNoRoomForAFork_autoPlacesItElsewhere_andTheAnswerIsTheRoomyEnginesAnswer() throws Exception {
    List<String> prompts = forkingPrompts(2);
    // a budget that holds the prompt and the answer's tokens but not a fork's copy of the prefix
    EngineConfig tight = EngineConfig.defaults().withKvBudgetTokens(640);
    try (Engine local = new Engine(here, tight)) {
      GenerationResult inline = local.generate(GenerationRequest.of("tight", prompts.get(0), Sampling.greedy(600),
          Mode.ASYNC));
      assertThat(inline.stats().forks()).as("forks on the tight engine alone: its promises run inline").isZero();
    }
    compare(prompts, Sampling.greedy(600), Mode.ASYNC, ForkPlacement.AUTO, tight, true);
  }

  /** Each prompt on {@code placed} forks to the other engine, against the other engine's own answer. */
  private static void compare(List<String> prompts, Sampling sampling, Mode mode, ForkPlacement placement,
      EngineConfig config, boolean expectRemote) throws Exception {
    try (Engine parentEngine = new Engine(here, config);
        Engine forkEngine = new Engine(there, EngineConfig.defaults())) {
      AtomicInteger placed = new AtomicInteger();
      parentEngine.placeForks(placement, job -> {
        placed.incrementAndGet();
        List<Integer> tokens = new ArrayList<>();
        forkEngine.submit(job.forkRequest(), new SpanListener() {
          @Override
          public void onToken(SpanId span, int index, int token) {
            if (span.path().equals(job.span())) {
              tokens.add(token);
            }
          }
        }).thenAccept(done -> parentEngine.remoteForkDone(job.request().id(), job.span(), tokens));
      });
      for (int i = 0; i < prompts.size(); i++) {
        String prompt = prompts.get(i);
        GenerationResult alone = forkEngine.submit(GenerationRequest.of("alone-" + i, prompt, sampling, mode))
            .get(120, TimeUnit.SECONDS);
        int before = placed.get();
        GenerationResult spread = parentEngine.submit(GenerationRequest.of("spread-" + i, prompt, sampling, mode))
            .get(120, TimeUnit.SECONDS);
        assertThat(spread.annotated()).as("%s (%s, %s)", prompt, mode, placement).isEqualTo(alone.annotated());
        assertThat(spread.finishReason()).isEqualTo(alone.finishReason());
        if (expectRemote && alone.stats().forks() > 0) {
          assertThat(placed.get() - before).as("forks placed elsewhere for %s", prompt).isPositive();
        }
      }
    }
  }

  /** The first {@code n} held-out prompts whose answers fork. */
  private static List<String> forkingPrompts(int n) {
    List<String> out = new ArrayList<>();
    try (Engine engine = new Engine(here, EngineConfig.defaults())) {
      for (String p : TestModels.heldoutPrompts()) {
        if (out.size() == n) {
          break;
        }
        if (engine.generate(GenerationRequest.of("probe", p, Sampling.greedy(600), Mode.ASYNC)).stats().forks() > 0) {
          out.add(p);
        }
      }
    }
    return out;
  }
}
