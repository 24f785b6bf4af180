package io.pastaserve.interpreter.program;

import static io.pastaserve.interpreter.program.SpanTreeChecksTest.assertRefused;
import static io.pastaserve.interpreter.program.SpanTreeChecksTest.done;
import static io.pastaserve.interpreter.program.SpanTreeChecksTest.entries;
import static io.pastaserve.interpreter.program.SpanTreeChecksTest.started;
import static io.pastaserve.interpreter.program.SpanTreeChecksTest.text;
import static org.assertj.core.api.Assertions.assertThat;

import io.pastaserve.common.lang.PastaLimits;
import io.pastaserve.common.messaging.RequestFinishedEvent;
import io.pastaserve.common.messaging.SpanTiming;
import io.pastaserve.common.messaging.SpanTokensEvent;
import io.pastaserve.common.messaging.TokenItem;
import io.pastaserve.common.output.OutputCodec;
import io.pastaserve.common.output.OutputEntry;
import io.pastaserve.common.request.FinishReason;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The interpreter reads each span's raw text with the PASTA-LANG parser and holds the worker's forks to it, against a
 * real Redis: a fork at a token whose text completes no promise, or at a topic other than its promise's, ends the
 * request with an error, what was streamed before it kept; a program the worker ran by the rules (split tags, inline
 * promises, malformed tags) goes through unchanged, also when another instance rebuilds the view from Redis midway.
 */
class ProgramReadingChecksTest {

  static final PastaLimits LIMITS = new PastaLimits(4, 1, 8);

  @BeforeAll
  static void start() throws Exception {
    SpanTreeChecksTest.start();
  }

  @AfterAll
  static void stop() {
    SpanTreeChecksTest.stop();
  }

  static RequestTracker tracker() {
    return SpanTreeChecksTest.tracker(LIMITS);
  }

  /** An event that tells its tokens' raw text, as a worker that knows the field sends it. */
  static SpanTokensEvent event(String id, String span, String parent, String topic, boolean ended,
      TokenItem... items) {
    return new SpanTokensEvent(1, id, span, parent, List.of(items), "", ended, "worker-a", topic, true);
  }

  /** A token whose raw text is its answer text. */
  static TokenItem plain(int index, String text) {
    return TokenItem.of(index, 100 + index, text, List.of(), text);
  }

  /** A token that wrote {@code raw}, adding {@code text} to the answer and starting {@code forks}. */
  static TokenItem wrote(int index, String raw, String text, String... forks) {
    return TokenItem.of(index, 200 + index, text, List.of(forks), raw);
  }

  static RequestFinishedEvent finished(String id) {
    return new RequestFinishedEvent(1, id, FinishReason.STOP, "", 3, 10, 6, 2, "",
        List.of(new SpanTiming("0", "", "", 1, 0, 1)));
  }

  @Test
  void aForkAtATokenWhoseTextCompletesNoPromise_endsTheRequestWithAnError() {
    RequestTracker t = tracker();
    String id = started(t);
    assertRefused(id, t, "span 0's token 1 (' go') started fork 0.1, but its text completes no promise", "Tips:",
        event(id, "0", "", "", false, plain(0, "Tips:"), wrote(1, " go", " go", "0.1"), plain(2, " on")));
  }

  @Test
  void moreForksThanPromisesAtAToken_endsTheRequestWithAnError() {
    RequestTracker t = tracker();
    String id = started(t);
    assertRefused(id, t, "started fork 0.2, but its text completes only 1 promise(s)", "Tips:",
        event(id, "0", "", "", false, plain(0, "Tips:"),
            wrote(1, "<promise topic=\"a\"/>", "", "0.1", "0.2")));
  }

  @Test
  void aForkAtATopicOtherThanItsPromises_endsTheRequestWithAnError() {
    RequestTracker t = tracker();
    String id = started(t);
    assertRefused(id, t, "span 0.1 says it was forked at topic 'water', but the promise in span 0's text has topic "
        + "'sleep'", "Tips:",
        event(id, "0", "", "", false, plain(0, "Tips:"), wrote(1, "<promise topic=\"sleep\"/>", "", "0.1")),
        event(id, "0.1", "0", "water", false, plain(0, " Drink")));
  }

  @Test
  void aForkWhoseOwnEventCameFirst_isHeldToItsPromiseWhenTheParentsTokenComes() {
    RequestTracker t = tracker();
    String id = started(t);
    assertRefused(id, t, "span 0.1 says it was forked at topic 'water', but the promise in span 0's token 1",
        "Tips:",
        event(id, "0", "", "", false, plain(0, "Tips:")),
        event(id, "0.1", "0", "water", false, plain(0, " Drink")),
        event(id, "0", "", "", false, wrote(1, "<promise topic=\"sleep\"/>", "", "0.1")));
  }

  @Test
  void forksOutOfOrder_endTheRequestWithAnError() {
    RequestTracker t = tracker();
    String id = started(t);
    assertRefused(id, t, "started fork 0.2 where the span's next fork is 0.1", "Tips:",
        event(id, "0", "", "", false, plain(0, "Tips:"), wrote(1, "<promise topic=\"a\"/>", "", "0.2")));
  }

  /**
   * What a worker sends for a program with tags split across tokens, a promise run inline, a malformed promise that
   * forks, and a sync: it goes through, the answer in final order.
   */
  static List<SpanTokensEvent> wellBehaved(String id) {
    return List.of(
        event(id, "0", "", "", false, plain(0, "Tips:"), wrote(1, "<promise topic=\"", ""),
            wrote(2, "sleep\" tokens=\"3\"/>", "", "0.1"), wrote(3, "<promise topic=\"x\"/>", ""),
            plain(4, " inline"), wrote(5, "</async>", "")),
        event(id, "0.1", "0", "sleep", false, plain(0, " Sleep."), wrote(1, "</async>", "")),
        event(id, "0", "", "", false, wrote(6, " <promise topic=water tokens='many'/>", " ", "0.2"),
            wrote(7, "a <", "a "), wrote(8, " b<sync/>", "< b")),
        event(id, "0.2", "0", "water", true, plain(0, " Drink."), wrote(1, "</async>", "")),
        new SpanTokensEvent(1, id, "0.1", "0", List.of(), "", true, "worker-a", "sleep", true),
        event(id, "0", "", "", true, plain(9, " Done.")));
  }

  @Test
  void aProgramTheWorkerRanByTheRules_goesThroughUnchanged() {
    RequestTracker t = tracker();
    String id = started(t);
    for (SpanTokensEvent e : wellBehaved(id)) {
      assertThat(t.apply(e)).as("within the program: %s", e).isFalse();
    }
    t.finish(finished(id));
    assertThat(done(id).finishReason()).isEqualTo(FinishReason.STOP);
    assertThat(text(id)).isEqualTo("Tips: Sleep. inline  Drink.a < b Done.");
  }

  @Test
  void aViewRebuiltFromRedisMidRequest_readsOnWhereTheTextWas() {
    String id = started(tracker());
    List<SpanTokensEvent> events = wellBehaved(id);
    // the first instance records the main span's first tokens: a promise tag begun and not ended
    RequestTracker first = tracker();
    assertThat(first.apply(event(id, "0", "", "", false, plain(0, "Tips:"), wrote(1, "<promise topic=\"", ""))))
        .isFalse();
    // another instance (a rebalance) goes on: it rebuilds the view, the held-back tag included
    RequestTracker second = tracker();
    for (SpanTokensEvent e : events) {
      assertThat(second.apply(e)).as("within the program: %s", e).isFalse();
    }
    second.finish(finished(id));
    assertThat(done(id).finishReason()).isEqualTo(FinishReason.STOP);
    assertThat(text(id)).isEqualTo("Tips: Sleep. inline  Drink.a < b Done.");
  }

  @Test
  void aViewRebuiltFromRedis_knowsThePromisesTopics() {
    String id = started(tracker());
    RequestTracker first = tracker();
    assertThat(first.apply(event(id, "0", "", "", false, plain(0, "Tips:"), wrote(1, "<promise topic=\"", ""),
        wrote(2, "sleep\"/>", "", "0.1")))).isFalse();
    RequestTracker second = tracker();
    assertRefused(id, second, "span 0.1 says it was forked at topic 'nap', but the promise in span 0's text has "
        + "topic 'sleep'", "Tips:", event(id, "0.1", "0", "nap", false, plain(0, " Rest")));
  }

  @Test
  void aViewRebuiltFromRedis_readsOnAfterATagBegunInTheLastRecordedToken() {
    String id = started(tracker());
    RequestTracker first = tracker();
    assertThat(first.apply(event(id, "0", "", "", false, plain(0, "Tips:"), wrote(1, "<promise topic=\"", ""))))
        .isFalse();
    RequestTracker second = tracker();
    // without what the first token held back, the text of this one would complete no promise
    assertThat(second.apply(event(id, "0", "", "", false, wrote(2, "sleep\"/>", "", "0.1")))).isFalse();
    assertRefused(id, second, "span 0's token 3 ('sleep\"/>') started fork 0.2, but its text completes no promise",
        "Tips:", event(id, "0", "", "", false, wrote(3, "sleep\"/>", "sleep\"/>", "0.2")));
  }

  @Test
  void spansFromAWorkerThatDoesNotTellRawText_keepTodaysChecksOnly() {
    RequestTracker t = tracker();
    String id = started(t);
    // its first tokens without raw text: the span is not read, even when later tokens tell theirs
    assertThat(t.apply(new SpanTokensEvent(1, id, "0", "", List.of(new TokenItem(0, 1, "Tips:", List.of()),
        new TokenItem(1, 2, "", List.of("0.1"))), "", false, "worker-old", ""))).isFalse();
    assertThat(t.apply(event(id, "0", "", "", false, wrote(2, " go", " go", "0.2")))).isFalse();
    assertThat(entries(id).stream().noneMatch(e -> "done".equals(e.get("type")))).isTrue();
  }

  @Test
  void spanEntries_nameTheWorkerThatDecodedTheirTokens() {
    RequestTracker t = tracker();
    String id = SpanTreeChecksTest.started(t);
    // a request that asks for span entries
    SpanTreeChecksTest.redis.opsForHash().put(io.pastaserve.common.messaging.RedisKeys.request(id), "spanEvents",
        "1");
    RequestTracker live = tracker();
    assertThat(live.apply(event(id, "0", "", "", false, plain(0, "Tips:")))).isFalse();
    List<OutputEntry.SpanProgress> spans = entries(id).stream().filter(e -> "span".equals(e.get("type")))
        .map(e -> {
          Map<String, String> fields = new HashMap<>();
          e.forEach((k, v) -> fields.put((String) k, (String) v));
          return OutputCodec.decode(fields).orElse(null);
        }).filter(Objects::nonNull).map(OutputEntry.SpanProgress.class::cast).toList();
    assertThat(spans).extracting(OutputEntry.SpanProgress::worker).containsExactly("worker-a");
  }
}
