package io.pastaserve.worker.engine;

import static org.assertj.core.api.Assertions.assertThat;

import io.pastaserve.common.lang.OrderedAssembler;
import io.pastaserve.common.lang.PastaEvent;
import io.pastaserve.common.lang.PastaParser;
import io.pastaserve.common.lang.SpanId;
import io.pastaserve.common.request.Mode;
import io.pastaserve.worker.TestModels;
import io.pastaserve.worker.model.ModelRunner;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class SpanListenerTest {

  static ModelRunner runner;

  @BeforeAll
  static void open() {
    runner = TestModels.tinyRandom();
  }

  @Test
  void streamedSpans_assembleInFinalOrder_toTheAnswer_inBothModes() {
    Random random = new Random(21);
    try (Engine engine = new Engine(runner, EngineConfig.defaults())) {
      for (int i = 0; i < 10; i++) {
        String transcript = ForkJoinReferenceTest.randomProgram(random);
        for (Mode mode : Mode.values()) {
          StringBuilder streamed = new StringBuilder();
          List<String> prefixes = new ArrayList<>();
          OrderedAssembler assembler = new OrderedAssembler(piece -> {
            streamed.append(piece);
            prefixes.add(streamed.toString());
          });
          Map<SpanId, Integer> tokens = new HashMap<>();
          GenerationResult result = engine.submit(GenerationRequest.replay("l" + i + mode, "q", transcript, mode),
              new SpanListener() {
                @Override
                public void onToken(SpanId span, int index, int token) {
                  assertThat(index).isEqualTo(tokens.getOrDefault(span, 0));
                  tokens.merge(span, 1, Integer::sum);
                }

                @Override
                public void onText(SpanId span, String text) {
                  assembler.text(span, text);
                }

                @Override
                public void onFork(SpanId parent, SpanId child, String topic) {
                  assembler.fork(parent, child);
                }

                @Override
                public void onSpanEnd(SpanId span) {
                  assembler.end(span);
                }
              }).join();
          assertThat(assembler.complete()).isTrue();
          assertThat(assembler.assembled()).isEqualTo(result.text());
          assertThat(prefixes).allMatch(p -> result.text().startsWith(p));
          // every decoded token is reported, except an end of sequence (one per span at most)
          long reported = tokens.values().stream().mapToLong(Integer::longValue).sum();
          assertThat(reported).isBetween(result.stats().totalTokens() - 1 - result.stats().forks(),
              result.stats().totalTokens());
        }
      }
    }
  }

  /**
   * What the interpreter checks a worker's forks against: each span's raw text, token by token, read by a parser of
   * its own, has a promise (the same topic) at every token that forked, the forks being the first promises of it.
   */
  @Test
  void rawText_hasEachForksPromise_atTheTokenThatForked() {
    Random random = new Random(5);
    try (Engine engine = new Engine(runner, EngineConfig.defaults())) {
      for (int i = 0; i < 10; i++) {
        String transcript = ForkJoinReferenceTest.randomProgram(random);
        for (Mode mode : Mode.values()) {
          Map<SpanId, PastaParser> parsers = new HashMap<>();
          Map<SpanId, List<String>> promised = new HashMap<>();
          Map<SpanId, Integer> forked = new HashMap<>();
          List<String> problems = new ArrayList<>();
          int[] forks = new int[1];
          engine.submit(GenerationRequest.replay("r" + i + mode, "q", transcript, mode), new SpanListener() {
            @Override
            public void onToken(SpanId span, int index, int token) {
              promised.put(span, new ArrayList<>());
              forked.put(span, 0);
            }

            @Override
            public void onRawText(SpanId span, String raw) {
              for (PastaEvent e : parsers.computeIfAbsent(span, s -> new PastaParser()).feed(raw)) {
                if (e instanceof PastaEvent.Promise p) {
                  promised.get(span).add(p.topic());
                }
              }
            }

            @Override
            public void onFork(SpanId parent, SpanId child, String topic) {
              forks[0]++;
              int k = forked.merge(parent, 1, Integer::sum) - 1;
              List<String> topics = promised.getOrDefault(parent, List.of());
              if (k >= topics.size() || !topics.get(k).equals(topic)) {
                problems.add(child + " forked at '" + topic + "', promises of the token: " + topics);
              }
            }
          }).join();
          assertThat(problems).as(transcript).isEmpty();
          assertThat(forks[0] > 0 || !transcript.contains("<promise")).as(transcript).isTrue();
        }
      }
    }
  }
}
