package io.pastaserve.interpreter.program;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.pastaserve.common.lang.PastaLimits;
import io.pastaserve.common.messaging.GenerateCommand;
import io.pastaserve.common.messaging.RedisKeys;
import io.pastaserve.common.messaging.RequestFinishedEvent;
import io.pastaserve.common.messaging.SpanTiming;
import io.pastaserve.common.messaging.SpanTokensEvent;
import io.pastaserve.common.messaging.TokenItem;
import io.pastaserve.common.output.OutputCodec;
import io.pastaserve.common.output.OutputEntry;
import io.pastaserve.common.request.FinishReason;
import io.pastaserve.common.request.Mode;
import io.pastaserve.common.request.Sampling;
import io.pastaserve.testing.RedisTestClient;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.springframework.data.redis.connection.stream.MapRecord;
import org.springframework.data.redis.connection.stream.StreamOffset;
import org.springframework.data.redis.core.StringRedisTemplate;

/**
 * The interpreter holds each request's program to its limits, against a real Redis: a span event that names a span
 * the request's span tree cannot have ends the request with an error that says why, and what was streamed before it
 * stays readable; a program within the limits goes through, with each span's worker and topic kept.
 */
class SpanTreeChecksTest {

  static RedisTestClient client;
  static StringRedisTemplate redis;
  static final ObjectMapper JSON = new ObjectMapper();
  /** Four spans, forks of forks allowed, topics of up to eight characters. */
  static final PastaLimits LIMITS = new PastaLimits(4, 2, 8);

  @BeforeAll
  static void start() throws Exception {
    client = RedisTestClient.start();
    redis = client.template();
  }

  @AfterAll
  static void stop() {
    client.close();
  }

  static RequestTracker tracker(PastaLimits limits) {
    return new RequestTracker(redis, JSON, Duration.ofMinutes(5), Duration.ofMinutes(1), limits);
  }

  static String started(RequestTracker tracker) {
    String id = "tree-" + UUID.randomUUID();
    tracker.start(new GenerateCommand(1, id, "p", new Sampling(0, 1, 0, 0, 100, List.of()), Mode.ASYNC, "", ""),
        "{}");
    return id;
  }

  static SpanTokensEvent event(String id, String span, String parent, String topic, boolean ended,
      TokenItem... items) {
    return new SpanTokensEvent(1, id, span, parent, List.of(items), "", ended, "worker-a", topic);
  }

  static TokenItem text(int index, String text) {
    return new TokenItem(index, 100 + index, text, List.of());
  }

  static TokenItem fork(int index, String... forks) {
    return new TokenItem(index, 200 + index, "", List.of(forks));
  }

  static List<Map<Object, Object>> entries(String id) {
    return redis.opsForStream().read(StreamOffset.fromStart(RedisKeys.output(id))).stream()
        .map(MapRecord::getValue).toList();
  }

  static String text(String id) {
    return entries(id).stream().filter(e -> "text".equals(e.get("type"))).map(e -> (String) e.get("text"))
        .collect(Collectors.joining());
  }

  static OutputEntry.Done done(String id) {
    List<Map<Object, Object>> entries = entries(id);
    assertThat(entries).as("the request has ended").isNotEmpty();
    Map<String, String> fields = new HashMap<>();
    entries.get(entries.size() - 1).forEach((k, v) -> fields.put((String) k, (String) v));
    return (OutputEntry.Done) OutputCodec.decode(fields).orElseThrow();
  }

  /**
   * Applies events in order; the request must be ended by the last one, with an error naming {@code why}, and the
   * answer's text must be {@code text}: all that was decoded before the token that broke the program.
   */
  static void assertRefused(String id, RequestTracker t, String why, String text, SpanTokensEvent... events) {
    for (int i = 0; i < events.length - 1; i++) {
      assertThat(t.apply(events[i])).as("event %d is within the program", i).isFalse();
    }
    assertThat(t.apply(events[events.length - 1])).as("the request ends: its spans are cancelled").isTrue();
    OutputEntry.Done done = done(id);
    assertThat(done.finishReason()).isEqualTo(FinishReason.ERROR);
    assertThat(done.error()).startsWith(RequestTracker.REFUSED).contains(why);
    assertThat(text(id)).as("what was decoded before stays readable").isEqualTo(text);
    int size = entries(id).size();
    assertThat(t.apply(event(id, "0", "", "", true, text(9, " more")))).isFalse();
    assertThat(entries(id)).as("nothing is recorded after the end").hasSize(size);
  }

  @Test
  void aForkDeeperThanTheLimit_endsTheRequestWithAnError_keepingTheTextDecodedBeforeIt() {
    RequestTracker t = tracker(new PastaLimits(4, 1, 8));
    String id = started(t);
    assertRefused(id, t, "span 0.1.1 is nested 2 deep; this request allows 1", "Tips: Sleep",
        event(id, "0", "", "", false, text(0, "Tips:"), fork(1, "0.1")),
        event(id, "0.1", "0", "sleep", false, text(0, " Sleep"), fork(1, "0.1.1")));
  }

  @Test
  void moreSpansThanTheLimit_endTheRequest_evenBeforeTheExtraForkDecodes() {
    RequestTracker t = tracker(LIMITS);
    String id = started(t);
    assertRefused(id, t, "would make 5 spans; this request allows 4", "Tips:",
        event(id, "0", "", "", false, text(0, "Tips:"), fork(1, "0.1"), fork(2, "0.2")),
        event(id, "0", "", "", false, fork(3, "0.3")),
        event(id, "0", "", "", false, fork(4, "0.4")));
  }

  @Test
  void aTopicLongerThanTheLimit_endsTheRequest() {
    RequestTracker t = tracker(LIMITS);
    String id = started(t);
    assertRefused(id, t, "forked at a topic of 12 characters; this request allows 8", "Tips:",
        event(id, "0", "", "", false, text(0, "Tips:"), fork(1, "0.1")),
        event(id, "0.1", "0", "twelve-chars", false, text(0, " Sleep")));
  }

  @Test
  void aSpanWhoseParentIsUnknown_endsTheRequest() {
    RequestTracker t = tracker(LIMITS);
    String id = started(t);
    assertRefused(id, t, "span 0.2.1 is a fork of span 0.2, which this request does not have", "Tips:",
        event(id, "0", "", "", false, text(0, "Tips:"), fork(1, "0.1")),
        event(id, "0.2.1", "0.2", "x", false, text(0, " Sleep")));
  }

  @Test
  void aSpanNamingAParentThatCannotForkIt_endsTheRequest() {
    RequestTracker t = tracker(LIMITS);
    String id = started(t);
    assertRefused(id, t, "span 0.1 names '0.2' as its parent; only span 0 can fork it", "Tips:",
        event(id, "0", "", "", false, text(0, "Tips:"), fork(1, "0.1")),
        event(id, "0.1", "0.2", "x", false, text(0, " Sleep")));
  }

  @Test
  void aForkOfAnotherSpan_endsTheRequest() {
    RequestTracker t = tracker(LIMITS);
    String id = started(t);
    assertRefused(id, t, "span 0 says its token 1 forked '0.1.1', which is not a fork of span 0", "Tips:",
        event(id, "0", "", "", false, text(0, "Tips:")),
        event(id, "0", "", "", false, fork(1, "0.1.1")));
  }

  @Test
  void aSpanWhoseParentEndedWithoutForkingIt_endsTheRequest() {
    RequestTracker t = tracker(LIMITS);
    String id = started(t);
    assertRefused(id, t, "span 0.2 is a fork of span 0, which ended without forking it", "Tips:",
        event(id, "0", "", "", true, text(0, "Tips:"), fork(1, "0.1")),
        event(id, "0.2", "0", "x", false, text(0, " Sleep")));
  }

  @Test
  void anEventAViewBehindRedisWouldRefuse_isJudgedAgainstWhatRedisRecorded() {
    RequestTracker stale = tracker(LIMITS);
    String id = started(stale);
    // this instance's view sees the main span's first token only
    stale.apply(event(id, "0", "", "", false, text(0, "Tips:")));
    // another instance records the forks (the partition moved meanwhile)
    tracker(LIMITS).apply(event(id, "0", "", "", false, text(0, "Tips:"), fork(1, "0.1")));
    tracker(LIMITS).apply(event(id, "0.1", "0", "x", false, text(0, " Sleep"), fork(1, "0.1.1")));
    // a fork of a fork this view never saw: Redis knows its parent, so it goes through
    assertThat(stale.apply(event(id, "0.1.1", "0.1", "y", true, text(0, " deep")))).isFalse();
    assertThat(entries(id).stream().noneMatch(e -> "done".equals(e.get("type")))).isTrue();
    assertThat(redis.opsForList().range(RedisKeys.tokens(id, "0.1.1"), 0, -1)).containsExactly("100");
  }

  @Test
  void aProgramWithinItsLimits_goesThrough_andEachSpanNamesItsWorker_acrossARebuild() {
    RequestTracker t = tracker(LIMITS);
    String id = started(t);
    assertThat(redis.opsForHash().get(RedisKeys.request(id), RequestTracker.LIMITS_FIELD))
        .as("the request is recorded with the limits it is held to").isEqualTo("{\"maxSpans\":4,\"maxDepth\":2,"
            + "\"maxTopicLength\":8}");
    t.apply(event(id, "0", "", "", false, text(0, "Tips:"), fork(1, "0.1")));
    t.apply(new SpanTokensEvent(1, id, "0.1", "0", List.of(text(0, " Sleep"), fork(1, "0.1.1")), "", false,
        "worker-b", "sleep"));
    assertThat(redis.opsForHash().entries(RedisKeys.spanWorkers(id))).containsEntry("0", "worker-a")
        .containsEntry("0.1", "worker-b");
    assertThat(redis.opsForHash().entries(RedisKeys.spanTopics(id))).containsEntry("0.1", "sleep");
    // another instance, configured with tighter limits, goes on: the request keeps the limits it started with
    RequestTracker other = tracker(new PastaLimits(2, 1, 8));
    assertThat(other.apply(event(id, "0.1.1", "0.1", "hours", true, text(0, " 8h.")))).isFalse();
    assertThat(other.apply(new SpanTokensEvent(1, id, "0.1", "0", List.of(), "", true, "worker-b", "sleep")))
        .isFalse();
    assertThat(other.apply(event(id, "0", "", "", true, text(2, " Done.")))).isFalse();
    assertThat(text(id)).isEqualTo("Tips: Sleep 8h. Done.");
    other.finish(new RequestFinishedEvent(1, id, FinishReason.STOP, "", 3, 6, 5, 2, "", List.of(
        new SpanTiming("0", "", "", 3, 0, 9, "worker-c"), new SpanTiming("0.1", "0", "sleep", 2, 1, 5, "worker-c"),
        new SpanTiming("0.1.1", "0.1", "hours", 1, 2, 4, "worker-c"))));
    OutputEntry.Done done = done(id);
    assertThat(done.finishReason()).isEqualTo(FinishReason.STOP);
    assertThat(done.spans()).extracting(SpanTiming::worker).as("the worker whose tokens of each span were recorded")
        .containsExactly("worker-a", "worker-b", "worker-a");
    assertThat(redis.hasKey(RedisKeys.spanWorkers(id))).as("deleted with the program state").isFalse();
    assertThat(redis.hasKey(RedisKeys.spanTopics(id))).isFalse();
  }
}
