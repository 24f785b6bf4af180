package io.pastaserve.worker.engine;

import static org.assertj.core.api.Assertions.assertThat;

import io.pastaserve.common.lang.PastaEvent;
import io.pastaserve.common.lang.PastaLimits;
import io.pastaserve.common.request.Mode;
import io.pastaserve.common.request.Sampling;
import io.pastaserve.worker.TestModels;
import io.pastaserve.worker.model.ModelRunner;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The batched engine against the unbatched reference, on random programs replayed on a random-weights model. */
class ForkJoinReferenceTest {

  static ModelRunner runner;

  @BeforeAll
  static void open() {
    runner = TestModels.tinyRandom();
  }

  static String randomProgram(Random random) {
    String alphabet = "abcdefgh ijk.,\n";
    StringBuilder sb = new StringBuilder();
    int forks = random.nextInt(5);
    int outstanding = 0;
    sb.append(text(random, alphabet, 1 + random.nextInt(12)));
    for (int f = 0; f < forks; f++) {
      String topic = "t" + f;
      OptionalInt tokens = random.nextBoolean() ? OptionalInt.of(random.nextInt(40)) : OptionalInt.empty();
      sb.append(PastaEvent.Promise.of(topic, tokens).raw()).append(PastaEvent.AsyncOpen.of(topic).raw())
          .append(text(random, alphabet, 1 + random.nextInt(25))).append(PastaEvent.AsyncClose.CANONICAL);
      outstanding++;
      sb.append(text(random, alphabet, random.nextInt(6)));
      if (random.nextInt(3) == 0) {
        sb.append(PastaEvent.Sync.CANONICAL);
        outstanding = 0;
        sb.append(text(random, alphabet, random.nextInt(8)));
      }
    }
    if (outstanding > 0 && random.nextBoolean()) {
      sb.append(PastaEvent.Sync.CANONICAL);
    }
    sb.append(text(random, alphabet, random.nextInt(10)));
    return sb.toString();
  }

  private static String text(Random random, String alphabet, int n) {
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < n; i++) {
      sb.append(alphabet.charAt(random.nextInt(alphabet.length())));
    }
    return sb.toString();
  }

  @Test
  void batchedEngine_givesTheReferenceLogits_atEveryStep_forConcurrentRandomPrograms() {
    Random random = new Random(42);
    int programs = 12;
    List<String> transcripts = new ArrayList<>();
    for (int i = 0; i < programs; i++) {
      transcripts.add(randomProgram(random));
    }
    Map<String, float[]> engineLogits = new ConcurrentHashMap<>();
    EngineConfig config = EngineConfig.defaults().withMaxBatch(6);
    try (Engine engine = new Engine(runner, config)) {
      engine.observe((request, span, index, logits) -> engineLogits.put(request + ":" + span + "/" + index, logits));
      List<CompletableFuture<GenerationResult>> futures = new ArrayList<>();
      for (int i = 0; i < programs; i++) {
        futures.add(engine.submit(new GenerationRequest("p" + i, "prompt " + i, Sampling.greedy(2000),
            Mode.ASYNC, Optional.of(new Forcing.Replay(transcripts.get(i))))));
      }
      for (int i = 0; i < programs; i++) {
        GenerationResult result = futures.get(i).join();
        assertThat(result.annotated()).as("program %d", i).isEqualTo(transcripts.get(i));
      }
    }
    int compared = 0;
    for (int i = 0; i < programs; i++) {
      ReferenceExecutor reference = new ReferenceExecutor(runner, PastaLimits.defaults(),
          ReservationPolicy.PREDICTED);
      reference.run("prompt " + i, transcripts.get(i));
      for (Map.Entry<String, float[]> e : reference.logits.entrySet()) {
        float[] batched = engineLogits.get("p" + i + ":" + e.getKey());
        assertThat(batched).as("engine logits for p%d:%s", i, e.getKey()).isNotNull();
        float maxDiff = 0;
        for (int k = 0; k < batched.length; k++) {
          maxDiff = Math.max(maxDiff, Math.abs(batched[k] - e.getValue()[k]));
        }
        assertThat(maxDiff).as("max |logit difference| at p%d:%s", i, e.getKey()).isLessThanOrEqualTo(1e-4f);
        compared++;
      }
      String prefix = "p" + i + ":";
      long engineSteps = engineLogits.keySet().stream().filter(k -> k.startsWith(prefix)).count();
      assertThat(reference.logits).hasSize((int) engineSteps);
    }
    assertThat(compared).isGreaterThan(500);
  }

  @Test
  void serialAndAsync_giveIdenticalText_onRandomPrograms_greedyAndSeeded() {
    Random random = new Random(7);
    try (Engine engine = new Engine(runner, EngineConfig.defaults().withMaxBatch(4))) {
      for (int i = 0; i < 8; i++) {
        String transcript = randomProgram(random);
        for (Mode mode : Mode.values()) {
          GenerationResult r = engine.generate(new GenerationRequest("r" + i + mode, "q" + i,
              Sampling.greedy(2000), mode, Optional.of(new Forcing.Replay(transcript))));
          assertThat(r.annotated()).isEqualTo(transcript);
        }
      }
    }
  }

  /** Each span's tokens in a flat transcript, as the engine forces them, cut to the first {@code share}. */
  static Map<String, List<Integer>> firstTokens(String transcript, double share) {
    Map<String, List<Integer>> out = new java.util.HashMap<>();
    io.pastaserve.common.lang.Program program = io.pastaserve.common.lang.Program.fromTranscript(transcript,
        PastaLimits.defaults());
    for (io.pastaserve.common.lang.Span span : program.spans()) {
      int[] ids = runner.tokenizer().encode(span.ownOutput());
      List<Integer> list = new ArrayList<>();
      for (int k = 0; k < (int) (ids.length * share); k++) {
        list.add(ids[k]);
      }
      out.put(span.id().path(), list);
    }
    return out;
  }

  @Test
  void cacheRebuiltFromTokenIds_givesTheSameLogits_andTheSameContinuation() {
    Random random = new Random(99);
    for (int i = 0; i < 6; i++) {
      String transcript = randomProgram(random);
      Map<String, List<Integer>> known = firstTokens(transcript, 0.7);
      Map<String, float[]> stepwise = new ConcurrentHashMap<>();
      Map<String, float[]> rebuilt = new ConcurrentHashMap<>();
      GenerationResult original;
      GenerationResult resumed;
      // a budget no program reaches: which span spends a request's last tokens depends on the schedule, and fast
      // forwarding changes the schedule
      Sampling sampling = new Sampling(0.8, 0.95, 0, 5, 100_000, List.of());
      try (Engine engine = new Engine(runner, EngineConfig.defaults())) {
        engine.fastForward(false);
        engine.observe((request, span, index, logits) -> stepwise.put(span + "/" + index, logits));
        original = engine.generate(new GenerationRequest("o" + i, "q", sampling, Mode.ASYNC,
            Optional.of(new Forcing.Resume(known))));
      }
      try (Engine engine = new Engine(runner, EngineConfig.defaults())) {
        engine.observe((request, span, index, logits) -> rebuilt.put(span + "/" + index, logits));
        resumed = engine.generate(new GenerationRequest("r" + i, "q", sampling, Mode.ASYNC,
            Optional.of(new Forcing.Resume(known))));
      }
      assertThat(resumed.annotated()).as("program %d", i).isEqualTo(original.annotated());
      assertThat(rebuilt.size()).isLessThan(stepwise.size());
      for (Map.Entry<String, float[]> e : rebuilt.entrySet()) {
        float[] step = stepwise.get(e.getKey());
        assertThat(step).as(e.getKey()).isNotNull();
        float maxDiff = 0;
        for (int k = 0; k < step.length; k++) {
          maxDiff = Math.max(maxDiff, Math.abs(step[k] - e.getValue()[k]));
        }
        assertThat(maxDiff).as("program %d at %s", i, e.getKey()).isLessThanOrEqualTo(1e-4f);
      }
    }
  }
}
