package io.pastaserve.worker.engine;

import static org.assertj.core.api.Assertions.assertThat;

import io.pastaserve.common.lang.SpanId;
import io.pastaserve.common.request.Mode;
import io.pastaserve.common.request.Sampling;
import io.pastaserve.worker.TestModels;
import io.pastaserve.worker.kv.KvBlock;
import io.pastaserve.worker.model.ExecutionProvider;
import io.pastaserve.worker.model.ModelRunner;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Forks placed on another engine (two engines, two runners: what two workers are): the parent's engine sends each
 * fork as a {@link RemoteFork}, the other engine rebuilds the fork's prefix from the request's known tokens and
 * decodes the fork alone (or, with {@link ForkPrefix#KV}, starts it from its parent's cache), and its tokens come back
 * for the join. The answers are the ones one engine gives alone, greedy and seeded, in both modes.
 */
class RemoteForkTest {

  static ModelRunner here;
  static ModelRunner there;

  @BeforeAll
  static void open() {
    here = ModelRunner.open(TestModels.PASTA_TINY_DIR, ExecutionProvider.CPU, 1);
    there = ModelRunner.open(TestModels.PASTA_TINY_DIR, ExecutionProvider.CPU, 1);
  }

  @AfterAll
  static void close() {
    here.close();
    there.close();
  }

  @Test
  void forksSpreadToAnotherEngine_giveTheAnswersOfOneEngine_greedyAndSeeded_inBothModes() throws Exception {
    List<String> prompts = forkingPrompts(4);
    for (Sampling sampling : List.of(Sampling.greedy(600), new Sampling(1.0, 1.0, 0, 77, 600, List.of()))) {
      for (Mode mode : Mode.values()) {
        Placed placed = compare(prompts, sampling, mode, ForkPlacement.SPREAD, EngineConfig.defaults(),
            ForkPrefix.TOKENS, RemoteFork::prefixKv);
        assertThat(placed.jobs).as("forks placed elsewhere").isPositive();
        assertThat(placed.withKv).as("jobs carrying a prefix cache").isZero();
      }
    }
  }

  @Test
  void forksStartedFromTheParentsCache_giveTheAnswersOfTheTokenIds_greedyAndSeeded_inBothModes() throws Exception {
    List<String> prompts = forkingPrompts(4);
    for (Sampling sampling : List.of(Sampling.greedy(600), new Sampling(1.0, 1.0, 0, 77, 600, List.of()))) {
      for (Mode mode : Mode.values()) {
        Placed placed = compare(prompts, sampling, mode, ForkPlacement.SPREAD, EngineConfig.defaults(),
            ForkPrefix.KV, RemoteFork::prefixKv);
        assertThat(placed.jobs).as("forks placed elsewhere").isPositive();
        assertThat(placed.withKv).as("jobs carrying a prefix cache").isEqualTo(placed.jobs);
        assertThat(placed.replayedTokens).as("tokens of other spans the fork engine decoded again").isZero();
      }
    }
  }

  @Test
  void aPrefixCacheOfAnotherShape_isSetAside_andTheTokenIdsRebuildThePrefix() throws Exception {
    List<String> prompts = forkingPrompts(2);
    // the cache of a model of one layer, one head of one element: it does not fit pasta-tiny
    Placed placed = compare(prompts, Sampling.greedy(600), Mode.ASYNC, ForkPlacement.SPREAD,
        EngineConfig.defaults(), ForkPrefix.KV, job -> job.prefixKv().map(p -> {
          KvBlock other = new KvBlock(1, 1, 1);
          other.reshape(1, p.kv().columns());
          return new ForkPrefixKv(other.snapshot(0, 0, p.kv().columns()), p.tokens(), p.positions(), p.shared());
        }));
    assertThat(placed.withKv).isEqualTo(placed.jobs).isPositive();
    assertThat(placed.replayedTokens).as("tokens of other spans the fork engine decoded again").isPositive();
  }

  @Test
  void withNoRoomForAFork_autoPlacesItElsewhere_andTheAnswerIsTheRoomyEnginesAnswer() throws Exception {
    List<String> prompts = forkingPrompts(2);
    // a budget that holds the prompt and the answer's tokens but not a fork's copy of the prefix
    EngineConfig tight = EngineConfig.defaults().withKvBudgetTokens(640);
    try (Engine local = new Engine(here, tight)) {
      GenerationResult inline = local.generate(GenerationRequest.of("tight", prompts.get(0), Sampling.greedy(600),
          Mode.ASYNC));
      assertThat(inline.stats().forks()).as("forks on the tight engine alone: its promises run inline").isZero();
    }
    Placed placed = compare(prompts, Sampling.greedy(600), Mode.ASYNC, ForkPlacement.AUTO, tight, ForkPrefix.TOKENS,
        RemoteFork::prefixKv);
    assertThat(placed.jobs).isPositive();
  }

  @Test
  void withNoBatchRowForAFork_autoPlacesItElsewhere_andTheAnswerIsTheOneEnginesAnswer() throws Exception {
    List<String> prompts = forkingPrompts(2);
    // one row: the parent holds it when it forks, so every fork it starts has none here
    EngineConfig oneRow = EngineConfig.defaults().withMaxBatch(1);
    for (Mode mode : Mode.values()) {
      Placed placed = compare(prompts, Sampling.greedy(600), mode, ForkPlacement.AUTO, oneRow, ForkPrefix.KV,
          RemoteFork::prefixKv);
      assertThat(placed.jobs).as("forks placed elsewhere (%s)", mode).isPositive();
    }
    // rows to spare: AUTO keeps every fork beside its parent
    Placed roomy = compare(prompts, Sampling.greedy(600), Mode.ASYNC, ForkPlacement.AUTO, EngineConfig.defaults(),
        ForkPrefix.KV, RemoteFork::prefixKv);
    assertThat(roomy.jobs).as("forks placed elsewhere with rows to spare").isZero();
  }

  /**
   * A fork placed elsewhere that no engine decodes (its job never taken, or its engine gone) is taken back: it decodes
   * beside its parent after all, and the answer is the one the other engine gives alone, greedy and seeded.
   */
  @Test
  void aForkNobodyDecodes_isTakenBack_andTheAnswerIsTheOneEnginesAnswer() throws Exception {
    List<String> prompts = forkingPrompts(2);
    AtomicInteger placed = new AtomicInteger();
    try (Engine parentEngine = new Engine(here, EngineConfig.defaults());
        Engine alone = new Engine(there, EngineConfig.defaults())) {
      parentEngine.placeForks(ForkPlacement.SPREAD, job -> {
        placed.incrementAndGet();
        parentEngine.remoteForkTakenBack(job.request().id(), job.span());
      }, ForkPrefix.KV);
      for (Sampling sampling : List.of(Sampling.greedy(600), new Sampling(0.8, 0.95, 0, 1234, 600, List.of()))) {
        for (Mode mode : Mode.values()) {
          for (int i = 0; i < prompts.size(); i++) {
            GenerationResult expected = alone.submit(GenerationRequest.of("alone-" + i, prompts.get(i), sampling,
                mode)).get(120, TimeUnit.SECONDS);
            GenerationResult taken = parentEngine.submit(GenerationRequest.of("taken-" + i, prompts.get(i),
                sampling, mode)).get(120, TimeUnit.SECONDS);
            assertThat(taken.annotated()).as("%s (%s, t=%s)", prompts.get(i), mode, sampling.temperature())
                .isEqualTo(expected.annotated());
            assertThat(taken.finishReason()).isEqualTo(expected.finishReason());
          }
        }
      }
    }
    assertThat(placed.get()).as("forks placed, then taken back").isPositive();
  }

  @Test
  void withNoOtherEngineToTakeAFork_autoKeepsItBesideItsParent() throws Exception {
    List<String> prompts = forkingPrompts(1);
    othersAvailable = false;
    try {
      Placed alone = compare(prompts, Sampling.greedy(600), Mode.ASYNC, ForkPlacement.AUTO,
          EngineConfig.defaults().withMaxBatch(1), ForkPrefix.KV, RemoteFork::prefixKv);
      assertThat(alone.jobs).as("forks placed elsewhere with no other engine").isZero();
    } finally {
      othersAvailable = true;
    }
  }

  @Test
  void aParentWaitingForAForkDecodedElsewhere_reportsHowLongItWaited() throws Exception {
    List<String> prompts = forkingPrompts(2);
    // serial mode: the parent waits at every promise until its fork is back
    Placed serial = compare(prompts, Sampling.greedy(600), Mode.SERIAL, ForkPlacement.SPREAD,
        EngineConfig.defaults(), ForkPrefix.TOKENS, RemoteFork::prefixKv);
    assertThat(serial.waits).as("join waits reported").hasSize(serial.jobs);
    assertThat(serial.waits).as("each a wait of the blocked parent").allSatisfy(n -> assertThat(n).isPositive());
    Placed async = compare(prompts, Sampling.greedy(600), Mode.ASYNC, ForkPlacement.SPREAD,
        EngineConfig.defaults(), ForkPrefix.KV, RemoteFork::prefixKv);
    assertThat(async.waits).as("join waits reported").hasSize(async.jobs);
    assertThat(async.waits).allSatisfy(n -> assertThat(n).isNotNegative());
  }

  /** What the parent's engine placed elsewhere in one comparison. */
  private static final class Placed {
    int jobs;
    int withKv;
    /** Tokens the fork engine reported for spans other than the one it decodes (the known tokens, replayed). */
    int replayedTokens;
    final List<Long> waits = new CopyOnWriteArrayList<>();
  }

  /** What the sinks of {@link #compare} answer to {@link RemoteForks#othersAvailable}. */
  private static volatile boolean othersAvailable = true;

  /**
   * Each prompt on {@code placed} forks to the other engine, which gets what {@code sent} makes of each job's prefix
   * cache, against the other engine's own answer.
   */
  private static Placed compare(List<String> prompts, Sampling sampling, Mode mode, ForkPlacement placement,
      EngineConfig config, ForkPrefix prefix, Function<RemoteFork, Optional<ForkPrefixKv>> sent) throws Exception {
    Placed placed = new Placed();
    AtomicInteger replayed = new AtomicInteger();
    AtomicInteger told = new AtomicInteger();
    try (Engine parentEngine = new Engine(here, config);
        Engine forkEngine = new Engine(there, EngineConfig.defaults())) {
      parentEngine.placeForks(placement, new RemoteForks() {
        @Override
        public void fork(RemoteFork job) {
          placed.jobs++;
          placed.withKv += job.prefixKv().isPresent() ? 1 : 0;
          List<Integer> tokens = new ArrayList<>();
          forkEngine.submit(job.forkRequest(sent.apply(job)), new SpanListener() {
            @Override
            public void onFork(SpanId parent, SpanId child, String topic) {
              // the fork's worker tells the interpreter whose fork it decodes, and at which topic, from this
              if (child.path().equals(job.span()) && child.parent().orElseThrow().equals(parent) && !topic.isBlank()) {
                told.incrementAndGet();
              }
            }

            @Override
            public void onToken(SpanId span, int index, int token) {
              if (span.path().equals(job.span())) {
                tokens.add(token);
              } else {
                replayed.incrementAndGet();
              }
            }
          }).thenAccept(done -> parentEngine.remoteForkDone(job.request().id(), job.span(), tokens));
        }

        @Override
        public boolean othersAvailable() {
          return othersAvailable;
        }

        @Override
        public void joinWaited(String requestId, String span, long nanos) {
          placed.waits.add(nanos);
        }
      }, prefix);
      for (int i = 0; i < prompts.size(); i++) {
        String prompt = prompts.get(i);
        GenerationResult alone = forkEngine.submit(GenerationRequest.of("alone-" + i, prompt, sampling, mode))
            .get(120, TimeUnit.SECONDS);
        GenerationResult spread = parentEngine.submit(GenerationRequest.of("spread-" + i, prompt, sampling, mode))
            .get(120, TimeUnit.SECONDS);
        assertThat(spread.annotated()).as("%s (%s, %s, %s)", prompt, mode, placement, prefix)
            .isEqualTo(alone.annotated());
        assertThat(spread.finishReason()).isEqualTo(alone.finishReason());
      }
    }
    placed.replayedTokens = replayed.get();
    assertThat(told.get()).as("forks the other engine told as forked from their parent, at their topic")
        .isEqualTo(placed.jobs);
    return placed;
  }

  /** The first {@code n} held-out prompts whose answers fork. */
  private static List<String> forkingPrompts(int n) {
    List<String> out = new ArrayList<>();
    try (Engine engine = new Engine(here, EngineConfig.defaults())) {
      for (String p : TestModels.heldoutPrompts()) {
        if (out.size() == n) {
          break;
        }
        if (engine.generate(GenerationRequest.of("probe", p, Sampling.greedy(600), Mode.ASYNC)).stats().forks() > 0) {
          out.add(p);
        }
      }
    }
    return out;
  }
}
