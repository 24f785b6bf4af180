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

/**
 * A model that writes its tags with odd attributes (a tokens hint that is not a number, an unquoted topic, no
 * topic, a promise closed with '>', a sync with an attribute), closes a promise like an element or abandons a
 * tag half-way still forks and joins: the answer holds none of that markup.
 */
class MalformedTagForkTest {

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

  static final String TRANSCRIPT = "Tips:\n<promise topic=\"sleep\" tokens=\"many\"/><async topic=\"sleep\">"
      + "1. Sleep well.</async>\n<promise topic=water tokens=\"-7\"><async topic=\"water\">2. Drink water.</async>\n"
      + "<promise tokens=\"3\"/><async topic=\"\">3. Walk.</async></promise>\n"
      + "<promise topic=\"x<sync a=\"1\"/>Done.";

  static GenerationResult replay(String id, Mode mode) {
    return engine.generate(new GenerationRequest(id, "give tips", Sampling.greedy(500), mode,
        Optional.of(new Forcing.Replay(TRANSCRIPT))));
  }

  @Test
  void promisesWithMalformedAttributes_fork_andNoMarkupReachesTheAnswer() {
    GenerationResult async = replay("m-async", Mode.ASYNC);
    GenerationResult serial = replay("m-serial", Mode.SERIAL);
    assertThat(async.finishReason()).isEqualTo(FinishReason.STOP);
    assertThat(async.stats().forks()).isEqualTo(3);
    assertThat(async.text()).isEqualTo("Tips:\n1. Sleep well.\n2. Drink water.\n3. Walk.\nDone.");
    assertThat(async.annotated()).isEqualTo(TRANSCRIPT);
    assertThat(serial.text()).isEqualTo(async.text());
    assertThat(serial.annotated()).isEqualTo(async.annotated());
  }
}
