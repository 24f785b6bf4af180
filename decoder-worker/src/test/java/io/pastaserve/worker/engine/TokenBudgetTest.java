package io.pastaserve.worker.engine;

import static org.assertj.core.api.Assertions.assertThat;

import io.pastaserve.common.lang.SpanId;
import io.pastaserve.common.request.FinishReason;
import io.pastaserve.common.request.Mode;
import io.pastaserve.common.request.Sampling;
import io.pastaserve.worker.TestModels;
import io.pastaserve.worker.model.ModelRunner;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@code max_tokens} bounds the tokens the model chooses for a request, all spans together, in either mode: forks
 * decoding in the same step as the token that reaches the budget choose nothing more.
 */
class TokenBudgetTest {

  static ModelRunner runner;

  @BeforeAll
  static void open() {
    runner = TestModels.pastaTiny();
  }

  @Test
  void aRequestNeverDecodesMoreThanMaxTokens_andReportsWhatItDecoded_inEitherMode() throws Exception {
    List<String> prompts = new ArrayList<>(List.of("Give me 6 tips for better sleep."));
    prompts.addAll(TestModels.heldoutPrompts().subList(0, 4));
    int[] budgets = {23, 60, 100, 150};
    int cutWithForks = 0;
    try (Engine engine = new Engine(runner, EngineConfig.defaults())) {
      for (Mode mode : Mode.values()) {
        List<CompletableFuture<GenerationResult>> futures = new ArrayList<>();
        List<AtomicLong> reported = new ArrayList<>();
        for (String prompt : prompts) {
          for (int budget : budgets) {
            AtomicLong tokens = new AtomicLong();
            reported.add(tokens);
            futures.add(engine.submit(GenerationRequest.of(mode + "/" + budget + "/" + prompt, prompt,
                Sampling.greedy(budget), mode), new SpanListener() {
                  @Override
                  public void onToken(SpanId span, int index, int token) {
                    tokens.incrementAndGet();
                  }
                }));
          }
        }
        for (int i = 0; i < futures.size(); i++) {
          GenerationResult result = futures.get(i).get();
          int budget = budgets[i % budgets.length];
          GenerationStats stats = result.stats();
          assertThat(stats.totalTokens()).as("%s: tokens decoded", result.id()).isLessThanOrEqualTo(budget);
          // every token the model chose is reported, except an end of sequence (one per span at most)
          assertThat(reported.get(i).get()).as("%s: tokens reported", result.id())
              .isBetween(stats.totalTokens() - 1 - stats.forks(), stats.totalTokens());
          if (result.finishReason() == FinishReason.LENGTH) {
            assertThat(stats.totalTokens()).as("%s: a request cut by its budget used all of it", result.id())
                .isEqualTo(budget);
            if (stats.forks() > 0 && mode == Mode.ASYNC) {
              cutWithForks++;
            }
          }
        }
      }
    }
    assertThat(cutWithForks).as("requests cut by their budget while forks were decoding").isGreaterThan(3);
  }
}
