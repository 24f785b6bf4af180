package io.pastaserve.worker.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.pastaserve.common.lang.SpanId;
import io.pastaserve.common.request.FinishReason;
import io.pastaserve.common.request.Mode;
import io.pastaserve.common.request.Sampling;
import io.pastaserve.worker.TestModels;
import io.pastaserve.worker.kv.KvCache;
import io.pastaserve.worker.kv.KvPass;
import io.pastaserve.worker.kv.KvSeq;
import io.pastaserve.worker.kv.KvSnapshot;
import io.pastaserve.worker.model.ModelRunner;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * What goes wrong with one request's cache as it is admitted, cancelled or completed fails that request alone: the
 * requests running beside it end with the text they have without it, and every cache is given back.
 */
class PerRequestFailureTest {

  static ModelRunner runner;
  static List<String> prompts;
  static List<String> alone = new ArrayList<>();

  @BeforeAll
  static void open() throws Exception {
    runner = TestModels.pastaTiny();
    prompts = TestModels.heldoutPrompts().subList(0, 3);
    try (Engine engine = new Engine(runner, EngineConfig.defaults())) {
      for (String p : prompts) {
        alone.add(engine.generate(request("alone", p, Mode.ASYNC)).text());
      }
    }
  }

  static GenerationRequest request(String id, String prompt, Mode mode) {
    return GenerationRequest.of(id, prompt, Sampling.greedy(600), mode);
  }

  @Test
  void aRequestWhoseCacheCannotBeOpened_failsAlone() throws Exception {
    FaultyCache faulty = new FaultyCache();
    // the others' main spans open theirs first: the next one is the victim's
    faulty.failOpen = prompts.size() + 1;
    try (Engine engine = new Engine(runner, EngineConfig.defaults(), faulty::wrap)) {
      GenerationResult victim = besideTheOthers(engine, e -> e.submit(request("victim", prompts.get(0),
          Mode.ASYNC)));
      assertThat(victim.finishReason()).isEqualTo(FinishReason.ERROR);
      assertThat(victim.error()).contains("cannot be opened");
    }
  }

  @Test
  void aRequestWhoseCacheCannotBeDropped_endsAlone_whenItsBudgetIsSpent() throws Exception {
    FaultyCache faulty = new FaultyCache();
    faulty.poisonOpen = prompts.size() + 1;
    try (Engine engine = new Engine(runner, EngineConfig.defaults(), faulty::wrap)) {
      GenerationResult victim = besideTheOthers(engine, e -> e.submit(GenerationRequest.of("victim",
          prompts.get(1), Sampling.greedy(20), Mode.ASYNC)));
      assertThat(victim.finishReason()).isIn(FinishReason.LENGTH, FinishReason.ERROR);
    }
  }

  @Test
  void aListenerThatThrowsAsItsSpentRequestIsFlushed_failsThatRequest_withError() throws Exception {
    try (Engine engine = new Engine(runner, EngineConfig.defaults())) {
      GenerationResult victim = besideTheOthers(engine, e -> e.submit(GenerationRequest.of("victim",
          prompts.get(1), Sampling.greedy(20), Mode.ASYNC), new SpanListener() {
            @Override
            public void onSpanEnd(SpanId span) {
              throw new IllegalStateException("the listener cannot take the end of span " + span);
            }
          }));
      assertThat(victim.finishReason()).isEqualTo(FinishReason.ERROR);
      assertThat(victim.error()).contains("cannot take the end");
    }
  }

  @Test
  void aCancelledRequestWhoseCacheCannotBeDropped_endsAlone() throws Exception {
    FaultyCache faulty = new FaultyCache();
    faulty.poisonOpen = prompts.size() + 1;
    try (Engine engine = new Engine(runner, EngineConfig.defaults(), faulty::wrap)) {
      GenerationResult victim = besideTheOthers(engine, e -> {
        AtomicBoolean decoding = new AtomicBoolean();
        CompletableFuture<GenerationResult> f = e.submit(request("victim", prompts.get(2), Mode.ASYNC),
            new SpanListener() {
              @Override
              public void onToken(SpanId span, int index, int token) {
                decoding.set(true);
              }
            });
        await().atMost(Duration.ofSeconds(60)).untilTrue(decoding);
        e.cancel("victim");
        return f;
      });
      assertThat(victim.finishReason()).isIn(FinishReason.CANCELLED, FinishReason.ERROR);
    }
  }

  @Test
  void aBatchThatCannotBeGatheredEmpty_failsNoRequest() throws Exception {
    FaultyCache faulty = new FaultyCache();
    faulty.failEmptyGather = true;
    // the short request leaves the batch while the long prompt is still prefilled: the batch becomes empty
    GenerationRequest brief = GenerationRequest.of("brief", prompts.get(0), Sampling.greedy(2), Mode.ASYNC);
    GenerationRequest longOne = GenerationRequest.of("long", "Tell me about the garden. ".repeat(220),
        Sampling.greedy(40), Mode.ASYNC);
    GenerationResult reference;
    try (Engine engine = new Engine(runner, EngineConfig.defaults())) {
      reference = engine.generate(longOne);
    }
    try (Engine engine = new Engine(runner, EngineConfig.defaults(), faulty::wrap)) {
      CompletableFuture<GenerationResult> first = engine.submit(brief);
      GenerationResult r = engine.submit(longOne).get(120, TimeUnit.SECONDS);
      assertThat(first.get(120, TimeUnit.SECONDS).finishReason()).isEqualTo(FinishReason.LENGTH);
      assertThat(faulty.emptyGathersFailed.get()).as("empty batches that could not be gathered").isPositive();
      assertThat(r.finishReason()).isEqualTo(reference.finishReason());
      assertThat(r.text()).isEqualTo(reference.text());
      assertThat(engine.load().get().kvTokens()).isZero();
    }
  }

  /** Runs the prompts beside the request {@code victim} submits; checks the others and returns the victim's result. */
  static GenerationResult besideTheOthers(Engine engine,
      java.util.function.Function<Engine, CompletableFuture<GenerationResult>> victim) throws Exception {
    List<CompletableFuture<GenerationResult>> others = new ArrayList<>();
    for (int i = 0; i < prompts.size(); i++) {
      others.add(engine.submit(request("other" + i, prompts.get(i), Mode.ASYNC)));
    }
    CompletableFuture<GenerationResult> failing = victim.apply(engine);
    for (int i = 0; i < prompts.size(); i++) {
      GenerationResult r = others.get(i).get(120, TimeUnit.SECONDS);
      assertThat(r.finishReason()).as("request beside the failing one: %s", prompts.get(i))
          .isIn(FinishReason.STOP, FinishReason.LENGTH);
      assertThat(r.text()).as("request beside the failing one: %s", prompts.get(i)).isEqualTo(alone.get(i));
    }
    GenerationResult failed = failing.get(120, TimeUnit.SECONDS);
    assertThat(engine.load().get().kvTokens()).isZero();
    return failed;
  }

  /**
   * The engine's cache, with faults on cue: the Nth cache opened cannot be, or cannot be dropped (nor can its
   * forks'), or an empty batch cannot be gathered.
   */
  static final class FaultyCache {

    volatile int failOpen;
    volatile int poisonOpen;
    volatile boolean failEmptyGather;
    final AtomicInteger opened = new AtomicInteger();
    final AtomicInteger emptyGathersFailed = new AtomicInteger();
    final Set<KvSeq> poisoned = Collections.synchronizedSet(Collections.newSetFromMap(new IdentityHashMap<>()));

    KvCache wrap(KvCache real) {
      return new KvCache() {
        @Override
        public KvSeq open() {
          int n = opened.incrementAndGet();
          if (n == failOpen) {
            throw new IllegalStateException("the cache of request number " + n + " cannot be opened");
          }
          KvSeq seq = real.open();
          if (n == poisonOpen) {
            poisoned.add(seq);
          }
          return seq;
        }

        @Override
        public KvSeq fork(KvSeq parent, int shared) {
          KvSeq child = real.fork(parent, shared);
          if (poisoned.contains(parent)) {
            poisoned.add(child);
          }
          return child;
        }

        @Override
        public KvSnapshot snapshot(KvSeq seq, String requestId, SpanId span) {
          return real.snapshot(seq, requestId, span);
        }

        @Override
        public KvSeq restore(KvSnapshot parent, int shared, String requestId, SpanId span) {
          return real.restore(parent, shared, requestId, span);
        }

        @Override
        public void join(KvSeq parent, List<KvSeq> forks) {
          real.join(parent, forks);
        }

        @Override
        public void free(KvSeq seq) {
          if (poisoned.contains(seq)) {
            throw new IllegalStateException("this cache cannot be dropped");
          }
          real.free(seq);
        }

        @Override
        public void leaveBatch(KvSeq seq) {
          real.leaveBatch(seq);
        }

        @Override
        public boolean mustMove(KvSeq seq) {
          return real.mustMove(seq);
        }

        @Override
        public void moveToOwn(KvSeq seq, String requestId, SpanId span, boolean ownOnly) {
          real.moveToOwn(seq, requestId, span, ownOnly);
        }

        @Override
        public KvPass decodePass() {
          return real.decodePass();
        }

        @Override
        public void decoded(List<KvSeq> rows) {
          real.decoded(rows);
        }

        @Override
        public KvPass prefillPass(List<KvSeq> rows, boolean inPlace) {
          return real.prefillPass(rows, inPlace);
        }

        @Override
        public void prefilled(List<KvSeq> rows, List<Integer> chunks, KvPass pass) {
          real.prefilled(rows, chunks, pass);
        }

        @Override
        public void gatherBatch(List<KvSeq> next) {
          if (failEmptyGather && next.isEmpty()) {
            emptyGathersFailed.incrementAndGet();
            throw new IllegalStateException("no block for an empty batch");
          }
          real.gatherBatch(next);
        }

        @Override
        public void installBatch(List<KvSeq> next) {
          real.installBatch(next);
        }

        @Override
        public void clearBatch() {
          real.clearBatch();
        }
      };
    }
  }
}
