package io.pastaserve.worker.engine;

import static org.assertj.core.api.Assertions.assertThat;

import io.pastaserve.common.lang.SpanId;
import io.pastaserve.common.request.Mode;
import io.pastaserve.common.request.Sampling;
import io.pastaserve.worker.TestModels;
import io.pastaserve.worker.model.ModelRunner;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * What a worker that takes over a dead worker's request sees: the tokens every span had reported up to some
 * moment. Resuming from any such moment gives the answer the request would have had.
 */
class ResumeAfterCrashTest {

  static final Path MODEL = TestModels.PASTA_TINY_DIR;
  static ModelRunner runner;

  @BeforeAll
  static void open() {
    runner = TestModels.pastaTiny();
  }

  @Test
  void resumingFromAnyMomentsReportedTokens_givesTheSameAnswer() throws Exception {
    resumeAtRandomMoments(Sampling.greedy(3000), Mode.ASYNC, 6, 4);
  }

  @Test
  void resumingASeededSampledRequest_fromAnyMomentsReportedTokens_givesTheSameAnswer_inBothModes()
      throws Exception {
    Sampling sampled = new Sampling(1.0, 1.0, 0, 1234, 3000, List.of());
    for (Mode mode : Mode.values()) {
      resumeAtRandomMoments(sampled, mode, 3, 2);
    }
  }

  private static void resumeAtRandomMoments(Sampling sampling, Mode mode, int promptCount, int cuts)
      throws Exception {
    List<String> prompts = Files.readAllLines(MODEL.resolve("heldout-prompts.txt"), StandardCharsets.UTF_8)
        .subList(0, promptCount);
    Random random = new Random(5);
    try (Engine engine = new Engine(runner, EngineConfig.defaults())) {
      for (String prompt : prompts) {
        // the order in which every span reported its tokens: (span, token), as a listener sees it
        List<Object[]> reports = new ArrayList<>();
        GenerationResult full = engine.submit(GenerationRequest.of("full", prompt, sampling, mode),
            new SpanListener() {
              @Override
              public void onToken(SpanId span, int index, int token) {
                reports.add(new Object[] {span.path(), token});
              }
            }).join();
        for (int k = 0; k < cuts; k++) {
          int cut = random.nextInt(reports.size());
          Map<String, List<Integer>> known = new HashMap<>();
          for (Object[] r : reports.subList(0, cut)) {
            known.computeIfAbsent((String) r[0], x -> new ArrayList<>()).add((Integer) r[1]);
          }
          GenerationResult resumed = engine.submit(new GenerationRequest("resumed", prompt, sampling, mode,
              Optional.of(new Forcing.Resume(known)))).get(60, java.util.concurrent.TimeUnit.SECONDS);
          assertThat(resumed.text()).as("%s (%s), resumed after %d of %d tokens", prompt, mode, cut,
              reports.size()).isEqualTo(full.text());
          assertThat(resumed.finishReason()).isEqualTo(full.finishReason());
        }
      }
    }
  }
}
