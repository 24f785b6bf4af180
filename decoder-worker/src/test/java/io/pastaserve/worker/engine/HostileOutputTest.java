package io.pastaserve.worker.engine;

import static org.assertj.core.api.Assertions.assertThat;

import io.pastaserve.common.lang.PastaLimits;
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
 * A model that misbehaves — forks without end, nests deeper than allowed, never closes a chunk, never syncs —
 * is bounded by the span limit, the nesting limit and the token budget, and its answer still assembles with
 * nothing it wrote lost.
 */
class HostileOutputTest {

  static ModelRunner runner;
  static Engine engine;
  static final PastaLimits LIMITS = new PastaLimits(4, 1, 64);

  @BeforeAll
  static void open() {
    runner = TestModels.tinyRandom();
    engine = new Engine(runner, new EngineConfig(16, 65_536, 512, 1024, LIMITS, ReservationPolicy.PREDICTED));
  }

  @AfterAll
  static void close() {
    engine.close();
  }

  static GenerationResult replay(String transcript, int maxTokens) {
    return engine.generate(new GenerationRequest("h", "p", Sampling.greedy(maxTokens), Mode.ASYNC,
        Optional.of(new Forcing.Replay(transcript))));
  }

  @Test
  void forkingWithoutEnd_isBoundedByTheSpanLimit_andKeepsEveryChunk() {
    StringBuilder t = new StringBuilder("List:");
    for (int i = 0; i < 40; i++) {
      t.append("<promise topic=\"t").append(i).append("\"/><async topic=\"t").append(i).append("\">item ").append(i)
          .append("</async>");
    }
    GenerationResult result = replay(t.append("<sync/>end").toString(), 4000);
    assertThat(result.stats().forks()).isLessThanOrEqualTo(LIMITS.maxSpans() - 1);
    assertThat(result.finishReason()).isEqualTo(FinishReason.STOP);
    for (int i = 0; i < 40; i++) {
      assertThat(result.text()).contains("item " + i);
    }
    assertThat(result.text()).startsWith("List:").endsWith("end");
  }

  @Test
  void nestingDeeperThanAllowed_runsInline() {
    String t = "A<promise topic=\"x\"/><async topic=\"x\">B<promise topic=\"y\"/><async topic=\"y\">C</async>D"
        + "<sync/></async><sync/>E";
    GenerationResult result = replay(t, 4000);
    assertThat(result.stats().forks()).isEqualTo(1);
    assertThat(result.text()).contains("A", "B", "C", "D", "E");
  }

  @Test
  void aChunkNeverClosed_orNeverSynced_endsWithTheBudget_andItsTextIsKept() {
    String never = "Start<promise topic=\"x\"/><async topic=\"x\">" + " word".repeat(400);
    GenerationResult result = replay(never, 120);
    assertThat(result.finishReason()).isEqualTo(FinishReason.LENGTH);
    assertThat(result.stats().totalTokens()).isLessThanOrEqualTo(120);
    assertThat(result.text()).startsWith("Start").contains(" word word");

    String noSync = "Intro<promise topic=\"a\"/><async topic=\"a\">alpha</async> tail without a sync";
    GenerationResult unsynced = replay(noSync, 4000);
    assertThat(unsynced.text()).contains("Intro", "alpha", "tail without a sync");
  }

  @Test
  void aRequestsOwnLimits_overrideTheEngines() {
    String t = "A<promise topic=\"x\"/><async topic=\"x\">B<promise topic=\"y\"/><async topic=\"y\">C</async>D"
        + "<sync/></async><promise topic=\"z\"/><async topic=\"z\">F</async><sync/>E";
    GenerationRequest deeper = new GenerationRequest("h", "p", Sampling.greedy(4000), Mode.ASYNC,
        Optional.of(new Forcing.Replay(t)), Optional.of(new PastaLimits(8, 2, 64)));
    GenerationResult nested = engine.generate(deeper);
    assertThat(nested.stats().forks()).as("the request allows nesting 2: x, y inside it, and z fork").isEqualTo(3);
    assertThat(nested.text()).isEqualTo("ABCDFE");

    GenerationResult single = engine.generate(deeper.withLimits(new PastaLimits(2, 2, 64)));
    assertThat(single.stats().forks()).as("the request allows 2 spans: only x forks").isEqualTo(1);
    assertThat(single.text()).isEqualTo("ABCDFE");

    GenerationResult engines = engine.generate(deeper.withLimits(null));
    assertThat(engines.stats().forks()).as("no limits of its own: the engine's (nesting 1)").isEqualTo(2);
    assertThat(engines.text()).isEqualTo("ABCDFE");
  }
}
