package io.pastaserve.worker.engine;

import static org.assertj.core.api.Assertions.assertThat;

import io.pastaserve.common.lang.SpanId;
import io.pastaserve.common.request.FinishReason;
import io.pastaserve.common.request.Mode;
import io.pastaserve.common.request.Sampling;
import io.pastaserve.worker.TestModels;
import io.pastaserve.worker.kv.KvAllocator;
import io.pastaserve.worker.model.ModelRunner;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * One request that fails inside the engine's step fails alone: the requests decoding beside it, in the same batch,
 * end with the text they have without it.
 */
class FailureIsolationTest {

  static ModelRunner runner;
  static List<String> prompts;
  static List<String> alone = new ArrayList<>();

  @BeforeAll
  static void open() throws Exception {
    runner = TestModels.pastaTiny();
    prompts = TestModels.heldoutPrompts().subList(0, 4);
    try (Engine engine = new Engine(runner, EngineConfig.defaults())) {
      for (String p : prompts) {
        alone.add(engine.generate(request("alone", p)).text());
      }
    }
  }

  static GenerationRequest request(String id, String prompt) {
    return GenerationRequest.of(id, prompt, Sampling.greedy(600), Mode.ASYNC);
  }

  /** Runs the prompts beside a failing request made by {@code victim}; checks the others and returns its result. */
  static GenerationResult besideTheOthers(Engine engine, Function<Engine, CompletableFuture<GenerationResult>> victim)
      throws Exception {
    List<CompletableFuture<GenerationResult>> others = new ArrayList<>();
    for (int i = 0; i < prompts.size(); i++) {
      others.add(engine.submit(request("other" + i, prompts.get(i))));
    }
    CompletableFuture<GenerationResult> failing = victim.apply(engine);
    for (int i = 0; i < prompts.size(); i++) {
      GenerationResult r = others.get(i).get(120, TimeUnit.SECONDS);
      assertThat(r.finishReason()).as("request beside the failing one: %s", prompts.get(i))
          .isIn(FinishReason.STOP, FinishReason.LENGTH);
      assertThat(r.text()).as("request beside the failing one: %s", prompts.get(i)).isEqualTo(alone.get(i));
    }
    GenerationResult failed = failing.get(120, TimeUnit.SECONDS);
    assertThat(failed.finishReason()).isEqualTo(FinishReason.ERROR);
    assertThat(failed.error()).isNotBlank();
    assertThat(engine.load().get().kvTokens()).isZero();
    return failed;
  }

  @Test
  void aListenerThatRunsOutOfDirectMemory_failsOnlyItsRequest() throws Exception {
    try (Engine engine = new Engine(runner, EngineConfig.defaults())) {
      GenerationResult failed = besideTheOthers(engine, e -> e.submit(request("victim", prompts.get(1)),
          new SpanListener() {
            @Override
            public void onToken(SpanId span, int index, int token) {
              if (index == 5) {
                throw new OutOfMemoryError("Cannot reserve 65536 bytes of direct buffer memory");
              }
            }
          }));
      assertThat(failed.error()).contains("direct buffer memory");
    }
  }

  @Test
  void aForkWhoseCacheCannotBeAllocated_failsOnlyItsRequest() throws Exception {
    try (Engine engine = new Engine(runner, EngineConfig.defaults())) {
      KvAllocator real = KvAllocator.of(runner::newKvBlock);
      engine.allocator((requestId, span, columns) -> {
        if (requestId.equals("victim") && !span.isMain()) {
          throw new OutOfMemoryError("Cannot reserve " + columns + " columns of direct buffer memory");
        }
        return real.allocate(requestId, span, columns);
      });
      GenerationResult failed = besideTheOthers(engine, e -> e.submit(request("victim", prompts.get(0))));
      assertThat(failed.error()).contains("direct buffer memory");
    }
  }

  @Test
  void aForwardPassThatFailsForOneRequestsRows_failsOnlyThatRequest_inPrefillAndInDecode() throws Exception {
    String longPrompt = "Tell me about the garden. ".repeat(220);
    int promptTokens = runner.tokenizer().encode(runner.config().applyChatTemplate(longPrompt)).length;
    // a pass fails once it holds a position this far: the long prompt's rows reach it in a prefill chunk, or while
    // decoding a little after its prompt; the others' never do
    for (int limit : new int[] {promptTokens - 100, promptTokens + 15}) {
      try (Engine engine = new Engine(runner, EngineConfig.defaults())) {
        engine.forwardPass((rows, seq, ids, positions, mask, pastColumns, past, present) -> {
          for (int i = 0; i < rows * seq; i++) {
            if (positions[i] >= limit) {
              throw new IllegalStateException("forward pass failed: position " + positions[i] + " out of range");
            }
          }
          return runner.forward(rows, seq, ids, positions, mask, pastColumns, past, present);
        });
        GenerationResult failed = besideTheOthers(engine, e -> e.submit(request("victim", longPrompt)));
        assertThat(failed.error()).as("limit %d, prompt %d tokens", limit, promptTokens).contains("out of range");
      }
    }
  }

  @Test
  void aResumedRequestWithATokenOutsideTheVocabulary_failsOnlyItself() throws Exception {
    try (Engine engine = new Engine(runner, EngineConfig.defaults())) {
      int[] start = runner.tokenizer().encode("Here are some tips");
      List<Integer> known = new ArrayList<>();
      for (int t : start) {
        known.add(t);
      }
      known.add(runner.config().vocabSize() + 1000);
      besideTheOthers(engine, e -> e.submit(new GenerationRequest("victim", prompts.get(2),
          Sampling.greedy(600), Mode.ASYNC, Optional.of(new Forcing.Resume(Map.of("0", known))))));
    }
  }
}
