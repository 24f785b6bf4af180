package io.pastaserve.worker.engine;

import static org.assertj.core.api.Assertions.assertThat;

import io.pastaserve.common.lang.PastaLimits;
import io.pastaserve.common.request.FinishReason;
import io.pastaserve.common.request.Mode;
import io.pastaserve.common.request.Sampling;
import io.pastaserve.worker.TestModels;
import io.pastaserve.worker.model.ModelRunner;
import java.util.Optional;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** A request that completed ends with STOP or LENGTH: LENGTH whenever any of its spans was cut by a limit. */
class FinishReasonTest {

  static ModelRunner runner;

  @BeforeAll
  static void open() {
    runner = TestModels.tinyRandom();
  }

  static GenerationResult replay(Engine engine, String prompt, String transcript) {
    return engine.generate(new GenerationRequest("r", prompt, Sampling.greedy(100_000), Mode.ASYNC,
        Optional.of(new Forcing.Replay(transcript))));
  }

  @Test
  void aForkCutByTheSpanTokenLimit_endsTheRequestWithLength() {
    EngineConfig config = new EngineConfig(16, 65_536, 512, 60, PastaLimits.defaults(),
        ReservationPolicy.PREDICTED);
    try (Engine engine = new Engine(runner, config)) {
      GenerationResult whole = replay(engine, "p", "Intro<promise topic=\"a\"/><async topic=\"a\">short</async>"
          + "<sync/>end");
      assertThat(whole.finishReason()).isEqualTo(FinishReason.STOP);

      GenerationResult cut = replay(engine, "p", "Intro<promise topic=\"a\"/><async topic=\"a\">"
          + "word ".repeat(40) + "</async><sync/>end");
      assertThat(cut.text()).startsWith("Introword word").endsWith("end");
      assertThat(cut.finishReason()).isEqualTo(FinishReason.LENGTH);
    }
  }

  @Test
  void aForkCutByTheContextLimit_endsTheRequestWithLength() {
    int context = runner.config().maxPositions();
    String prompt = "y".repeat(context - 200);
    try (Engine engine = new Engine(runner, EngineConfig.defaults())) {
      // the main span ends first; its fork runs into the end of the context
      GenerationResult cut = replay(engine, prompt, "Intro<promise topic=\"a\" tokens=\"4\"/><async topic=\"a\">"
          + "word ".repeat(60) + "</async>end");
      assertThat(cut.text()).startsWith("Introword word").endsWith("end");
      assertThat(cut.finishReason()).isEqualTo(FinishReason.LENGTH);
    }
  }
}
