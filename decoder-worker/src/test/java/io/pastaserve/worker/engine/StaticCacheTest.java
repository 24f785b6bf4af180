package io.pastaserve.worker.engine;

import static org.assertj.core.api.Assertions.assertThat;

import io.pastaserve.common.lang.PastaLimits;
import io.pastaserve.common.request.Mode;
import io.pastaserve.common.request.Sampling;
import io.pastaserve.worker.TestModels;
import io.pastaserve.worker.model.ExecutionProvider;
import io.pastaserve.worker.model.ModelRunner;
import io.pastaserve.worker.model.RunnerApi;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The static-cache variant of the model contract (fixed slots written in place, ONNX Runtime's GroupQueryAttention)
 * against the contract's graph, on one random-weights model exported both ways: the engine over the slot cache gives
 * the logits the unbatched reference computes with the contract's graph, through forks, joins and batch changes.
 */
class StaticCacheTest {

  static final Path PAIR = Path.of("src/test/resources/models/static-pair");
  static ModelRunner slots;
  static ModelRunner contract;

  @BeforeAll
  static void open() {
    slots = ModelRunner.open(PAIR.resolve("static"), ExecutionProvider.CPU, 1, true, RunnerApi.BINDING);
    contract = ModelRunner.open(PAIR.resolve("dynamic"), ExecutionProvider.CPU, 1, true, RunnerApi.BINDING);
  }

  @AfterAll
  static void close() {
    slots.close();
    contract.close();
  }

  @Test
  void theModelsConfig_saysStatic() {
    assertThat(slots.config().staticCache()).isTrue();
    assertThat(contract.config().staticCache()).isFalse();
  }

  @Test
  void theEngineOnSlots_givesTheReferenceLogits_atEveryStep_forConcurrentRandomPrograms() {
    Random random = new Random(42);
    int programs = 10;
    List<String> transcripts = new ArrayList<>();
    for (int i = 0; i < programs; i++) {
      transcripts.add(ForkJoinReferenceTest.randomProgram(random));
    }
    Map<String, float[]> engineLogits = new ConcurrentHashMap<>();
    try (Engine engine = new Engine(slots, EngineConfig.defaults().withMaxBatch(6))) {
      engine.observe((request, span, index, logits) -> engineLogits.put(request + ":" + span + "/" + index, logits));
      List<CompletableFuture<GenerationResult>> futures = new ArrayList<>();
      for (int i = 0; i < programs; i++) {
        futures.add(engine.submit(new GenerationRequest("p" + i, "prompt " + i, Sampling.greedy(2000),
            Mode.ASYNC, Optional.of(new Forcing.Replay(transcripts.get(i))))));
      }
      for (int i = 0; i < programs; i++) {
        assertThat(futures.get(i).join().annotated()).as("program %d", i).isEqualTo(transcripts.get(i));
      }
    }
    int compared = 0;
    for (int i = 0; i < programs; i++) {
      ReferenceExecutor reference = new ReferenceExecutor(contract, PastaLimits.defaults(),
          ReservationPolicy.PREDICTED);
      reference.run("prompt " + i, transcripts.get(i));
      for (Map.Entry<String, float[]> e : reference.logits.entrySet()) {
        float[] batched = engineLogits.get("p" + i + ":" + e.getKey());
        assertThat(batched).as("engine logits for p%d:%s", i, e.getKey()).isNotNull();
        float maxDiff = 0;
        for (int k = 0; k < batched.length; k++) {
          maxDiff = Math.max(maxDiff, Math.abs(batched[k] - e.getValue()[k]));
        }
        assertThat(maxDiff).as("max |logit difference| at p%d:%s", i, e.getKey()).isLessThanOrEqualTo(1e-3f);
        compared++;
      }
    }
    assertThat(compared).isGreaterThan(300);
  }

  @Test
  void concurrentAnswers_areTheContractGraphs_andTheSameInBothModes() {
    List<String> prompts = TestModels.heldoutPrompts().subList(0, 6);
    assertThat(answers(slots, prompts)).isEqualTo(answers(contract, prompts));
  }

  /** Every prompt in both modes, all submitted at once (the batch changes as they start and end). */
  private static List<String> answers(ModelRunner runner, List<String> prompts) {
    List<String> out = new ArrayList<>();
    try (Engine engine = new Engine(runner, EngineConfig.defaults().withMaxBatch(8))) {
      List<CompletableFuture<GenerationResult>> futures = new ArrayList<>();
      for (Mode mode : Mode.values()) {
        for (int i = 0; i < prompts.size(); i++) {
          futures.add(engine.submit(GenerationRequest.of(mode + "-" + i, prompts.get(i),
              Sampling.greedy(24 + 7 * i), mode)));
        }
      }
      for (CompletableFuture<GenerationResult> f : futures) {
        out.add(f.join().annotated());
      }
    }
    assertThat(out.subList(0, prompts.size())).isEqualTo(out.subList(prompts.size(), out.size()));
    return out;
  }
}
