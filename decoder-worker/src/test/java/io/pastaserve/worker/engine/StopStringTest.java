package io.pastaserve.worker.engine;

import static org.assertj.core.api.Assertions.assertThat;

import io.pastaserve.common.lang.SpanId;
import io.pastaserve.common.request.FinishReason;
import io.pastaserve.common.request.Mode;
import io.pastaserve.common.request.Sampling;
import io.pastaserve.worker.TestModels;
import io.pastaserve.worker.model.ModelRunner;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Stop strings are looked for in the answer as the user reads it: every span's text in final order. */
class StopStringTest {

  static ModelRunner runner;
  static Engine engine;

  /** The main span writes "AB" around the fork's place; the answer reads "A" + the chunk + "B". */
  static final String TRANSCRIPT = "Hello A<promise topic=\"x\"/><async topic=\"x\">middle</async>B world<sync/>"
      + " and a long tail".repeat(20);

  @BeforeAll
  static void open() {
    runner = TestModels.tinyRandom();
    engine = new Engine(runner, EngineConfig.defaults());
  }

  @AfterAll
  static void close() {
    engine.close();
  }

  static GenerationResult replay(String stop, Mode mode) {
    return engine.generate(new GenerationRequest("s", "p", new Sampling(0, 1, 0, 0, 100_000, List.of(stop)),
        mode, Optional.of(new Forcing.Replay(TRANSCRIPT))));
  }

  @Test
  void aStopStringAcrossAForksPlace_inTheMainSpansOwnText_doesNotEndTheAnswer() {
    for (Mode mode : Mode.values()) {
      GenerationResult result = replay("AB", mode);
      assertThat(result.text()).as("%s", mode).isEqualTo("Hello AmiddleB world" + " and a long tail".repeat(20));
      assertThat(result.finishReason()).isEqualTo(FinishReason.STOP);
    }
  }

  @Test
  void aStopStringInTheFinalText_acrossAForksEnd_cutsTheAnswerThere_andEndsTheRequest() {
    GenerationResult whole = replay("no such text", Mode.ASYNC);
    for (Mode mode : Mode.values()) {
      GenerationResult result = replay("dleB w", mode);
      assertThat(result.text()).as("%s", mode).isEqualTo("Hello Amid");
      assertThat(result.finishReason()).isEqualTo(FinishReason.STOP);
      assertThat(result.stats().totalTokens()).as("%s: tokens decoded", mode)
          .isLessThan(whole.stats().totalTokens() / 2);
    }
  }

  @Test
  void aStopStringInAFork_endsTheRequest() {
    GenerationResult whole = replay("no such text", Mode.ASYNC);
    for (Mode mode : Mode.values()) {
      GenerationResult result = replay("ddl", mode);
      assertThat(result.text()).as("%s", mode).isEqualTo("Hello Ami");
      assertThat(result.stats().totalTokens()).as("%s: tokens decoded", mode)
          .isLessThan(whole.stats().totalTokens() / 2);
    }
  }

  @Test
  void aRequestWithStopStrings_tellsItsListenerEveryTokenOnce_atConsecutiveIndices() throws Exception {
    for (Mode mode : Mode.values()) {
      Map<SpanId, List<Integer>> indices = new LinkedHashMap<>();
      engine.submit(new GenerationRequest("i" + mode, "p", new Sampling(0, 1, 0, 0, 100_000,
          List.of("no such text")), mode, Optional.of(new Forcing.Replay(TRANSCRIPT))), new SpanListener() {
            @Override
            public void onToken(SpanId span, int index, int token) {
              indices.computeIfAbsent(span, x -> new ArrayList<>()).add(index);
            }
          }).get();
      assertThat(indices).as("%s", mode).hasSize(2);
      indices.forEach((span, seen) -> assertThat(seen).as("%s span %s", mode, span)
          .isEqualTo(java.util.stream.IntStream.range(0, seen.size()).boxed().toList()));
    }
  }
}
