package io.pastaserve.worker.engine;

import static org.assertj.core.api.Assertions.assertThat;

import io.pastaserve.common.lang.PastaLimits;
import io.pastaserve.common.lang.SpanId;
import io.pastaserve.common.request.Mode;
import io.pastaserve.common.request.Sampling;
import io.pastaserve.worker.TestModels;
import io.pastaserve.worker.model.ModelRunner;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A request whose promises ran inline because the cache budget had no room for a fork, resumed on a worker whose
 * budget has room: its known promises run inline again, so the answer is the one it would have had.
 */
class ResumeUnderCachePressureTest {

  static ModelRunner runner;

  @BeforeAll
  static void open() {
    runner = TestModels.pastaTiny();
  }

  @Test
  void aRequestThatRanItsPromisesInline_resumedWithRoomToFork_givesTheSameAnswer_inBothModes() throws Exception {
    // a long prompt: a fork copies it, an inline chunk does not
    String prompt = "Please answer carefully, in short points, and keep each point brief and useful. ".repeat(6)
        + TestModels.heldoutPrompts().get(0);
    Sampling sampling = Sampling.greedy(300);
    int promptTokens = runner.tokenizer().encode(runner.config().applyChatTemplate(prompt)).length;
    // room for the request and for inline openers, none for a copy of the prompt
    EngineConfig tight = new EngineConfig(16, promptTokens + 300 + 150, 512, 1024, PastaLimits.defaults(),
        ReservationPolicy.PREDICTED);
    for (Mode mode : Mode.values()) {
      Recorder recorded = new Recorder();
      GenerationResult inline;
      try (Engine engine = new Engine(runner, tight)) {
        inline = engine.submit(GenerationRequest.of("tight", prompt, sampling, mode), recorded).get(120,
            TimeUnit.SECONDS);
      }
      try (Engine roomy = new Engine(runner, EngineConfig.defaults())) {
        GenerationResult forked = roomy.generate(GenerationRequest.of("roomy", prompt, sampling, mode));
        assertThat(forked.stats().forks()).as("%s: promises that fork when there is room", mode).isPositive();
        assertThat(inline.stats().forks()).as("%s: forks under the tight budget", mode).isZero();
        // resumed after the last promise, where this engine would fork had it not been decided before
        int total = recorded.reports.size();
        int last = recorded.afterLastPromise();
        assertThat(last).as("%s: tokens up to the last promise", mode).isPositive();
        for (int cut : new int[] {last, (last + total) / 2, total}) {
          GenerationResult resumed = roomy.submit(new GenerationRequest("resumed", prompt, sampling, mode,
              Optional.of(recorded.upTo(cut)))).get(120, TimeUnit.SECONDS);
          assertThat(resumed.text()).as("%s, resumed after %d of %d tokens", mode, cut, total)
              .isEqualTo(inline.text());
          assertThat(resumed.stats().forks()).as("%s, forks after resuming at %d", mode, cut).isZero();
        }
      }
    }
  }

  /** What the interpreter records of a request: each span's tokens in report order, and which of them forked. */
  static final class Recorder implements SpanListener {

    /** (span path, token index, token id, forks it started), in the order the listener saw them. */
    final List<int[]> reports = new ArrayList<>();
    final List<String> spans = new ArrayList<>();

    @Override
    public synchronized void onToken(SpanId span, int index, int token) {
      spans.add(span.path());
      reports.add(new int[] {index, token, 0});
    }

    @Override
    public synchronized void onFork(SpanId parent, SpanId child, String topic) {
      for (int i = reports.size() - 1; i >= 0; i--) {
        if (spans.get(i).equals(parent.path())) {
          reports.get(i)[2]++;
          return;
        }
      }
    }

    /** How many reports go up to the token completing the last promise (all in the main span: nothing forked). */
    synchronized int afterLastPromise() {
      Pattern promise = Pattern.compile("<promise[^>]*/>");
      int promises = 0;
      int after = 0;
      for (int i = 1; i <= reports.size(); i++) {
        int[] ids = reports.subList(0, i).stream().mapToInt(r -> r[1]).toArray();
        int seen = (int) promise.matcher(runner.tokenizer().decode(ids)).results().count();
        if (seen > promises) {
          promises = seen;
          after = i;
        }
      }
      return after;
    }

    /** The resume a worker builds from the first {@code cut} reports. */
    synchronized Forcing.Resume upTo(int cut) {
      Map<String, List<Integer>> tokens = new HashMap<>();
      Map<String, List<Integer>> forks = new HashMap<>();
      for (int i = 0; i < cut; i++) {
        int[] r = reports.get(i);
        tokens.computeIfAbsent(spans.get(i), x -> new ArrayList<>()).add(r[1]);
        for (int f = 0; f < r[2]; f++) {
          forks.computeIfAbsent(spans.get(i), x -> new ArrayList<>()).add(r[0]);
        }
      }
      return new Forcing.Resume(tokens, Optional.of(forks));
    }
  }
}
