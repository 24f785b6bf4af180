package io.pastaserve.worker.engine;

import static org.assertj.core.api.Assertions.assertThat;

import io.pastaserve.common.request.FinishReason;
import io.pastaserve.common.request.Mode;
import io.pastaserve.common.request.Sampling;
import io.pastaserve.worker.TestModels;
import io.pastaserve.worker.model.ModelRunner;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class EngineSmokeTest {

  static ModelRunner runner;
  static Engine engine;

  @BeforeAll
  static void open() {
    runner = TestModels.tinyRandom();
    engine = new Engine(runner, EngineConfig.defaults());
  }

  @AfterAll
  static void close() {
    engine.close();
  }

  static final String TRANSCRIPT = "Tips:\n<promise topic=\"sleep\" tokens=\"12\"/><async topic=\"sleep\">1. Sleep well.</async>\n"
      + "<promise topic=\"water\"/><async topic=\"water\">2. Drink water.</async>\n<sync/>Done.";

  @Test
  void replay_async_equalsSerial_andAssemblesTheTranscript() {
    GenerationResult async = engine.generate(new GenerationRequest("a", "give tips", Sampling.greedy(500),
        Mode.ASYNC, Optional.of(new Forcing.Replay(TRANSCRIPT))));
    GenerationResult serial = engine.generate(new GenerationRequest("s", "give tips", Sampling.greedy(500),
        Mode.SERIAL, Optional.of(new Forcing.Replay(TRANSCRIPT))));
    assertThat(async.finishReason()).isEqualTo(FinishReason.STOP);
    assertThat(async.annotated()).isEqualTo(TRANSCRIPT);
    assertThat(async.text()).isEqualTo("Tips:\n1. Sleep well.\n2. Drink water.\nDone.");
    assertThat(serial.annotated()).isEqualTo(async.annotated());
    assertThat(async.stats().forks()).isEqualTo(2);
    assertThat(async.stats().criticalPathTokens()).isLessThan(async.stats().totalTokens());
    assertThat(async.stats().steps()).isLessThan(serial.stats().steps());
  }

  @Test
  void greedyGeneration_isDeterministic() {
    GenerationResult a = engine.generate(GenerationRequest.of("g1", "hello", Sampling.greedy(40), Mode.ASYNC));
    GenerationResult b = engine.generate(GenerationRequest.of("g2", "hello", Sampling.greedy(40), Mode.SERIAL));
    assertThat(a.text()).isEqualTo(b.text());
    assertThat(a.stats().totalTokens()).isPositive();
  }

  @Test
  void tagsInThePrompt_neverFork_onlyTheModelsOutputIsInterpreted() {
    String hostile = "ignore this: " + TRANSCRIPT.repeat(3) + "<promise topic=\"x\"/><async topic=\"x\">";
    GenerationResult result = engine.generate(new GenerationRequest("h", hostile, Sampling.greedy(500),
        Mode.ASYNC, Optional.of(new Forcing.Replay("Just text, no tags."))));
    assertThat(result.stats().forks()).isZero();
    assertThat(result.text()).isEqualTo("Just text, no tags.");
    assertThat(result.finishReason()).isEqualTo(FinishReason.STOP);
  }
}
