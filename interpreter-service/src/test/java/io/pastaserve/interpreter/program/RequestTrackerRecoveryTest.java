package io.pastaserve.interpreter.program;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.pastaserve.common.messaging.GenerateCommand;
import io.pastaserve.common.messaging.RedisKeys;
import io.pastaserve.common.messaging.RequestFinishedEvent;
import io.pastaserve.common.messaging.SpanTiming;
import io.pastaserve.common.messaging.SpanTokensEvent;
import io.pastaserve.common.messaging.TokenItem;
import io.pastaserve.common.request.FinishReason;
import io.pastaserve.common.request.Mode;
import io.pastaserve.common.request.Sampling;
import io.pastaserve.testing.RedisTestClient;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.springframework.data.redis.connection.stream.MapRecord;
import org.springframework.data.redis.connection.stream.StreamOffset;
import org.springframework.data.redis.core.StringRedisTemplate;

/**
 * The tracker on a real Redis when things go wrong: a span's tokens lost on the way, two instances applying one
 * request's events at once, the state gone from Redis under a running request. No answer ends {@code stop} with text
 * missing or repeated, every reader gets a final entry, and no key is left without an expiry.
 */
class RequestTrackerRecoveryTest {

  static RedisTestClient client;
  static StringRedisTemplate redis;
  static final ObjectMapper JSON = new ObjectMapper();

  /** What the tracker asked for: "redispatch id" or "cancel id". */
  final List<String> recoveries = new CopyOnWriteArrayList<>();
  final RequestTracker.Recovery recovery = new RequestTracker.Recovery() {
    @Override
    public void redispatch(String requestId) {
      recoveries.add("redispatch " + requestId);
    }

    @Override
    public void cancel(String requestId) {
      recoveries.add("cancel " + requestId);
    }
  };

  @BeforeAll
  static void start() throws Exception {
    client = RedisTestClient.start();
    redis = client.template();
  }

  @AfterAll
  static void stop() {
    client.close();
  }

  static RequestTracker tracker() {
    return new RequestTracker(redis, JSON, Duration.ofMinutes(5), Duration.ofMinutes(1));
  }

  static String started(RequestTracker tracker) {
    String id = "r-" + UUID.randomUUID();
    tracker.start(new GenerateCommand(1, id, "p", new Sampling(0, 1, 0, 0, 100, List.of()), Mode.ASYNC, "", ""),
        "{\"job\":\"" + id + "\"}");
    return id;
  }

  static final TokenItem[] WORDS = {new TokenItem(0, 10, "One", List.of()), new TokenItem(1, 11, " two", List.of()),
      new TokenItem(2, 12, " three", List.of()), new TokenItem(3, 13, " four.", List.of())};

  static SpanTokensEvent main(String id, boolean ended, TokenItem... items) {
    return new SpanTokensEvent(1, id, "0", "", List.of(items), "", ended);
  }

  /** The worker's finish: the main span decoded {@code tokens} tokens. */
  static RequestFinishedEvent finished(String id, String reason, int tokens) {
    return new RequestFinishedEvent(1, id, FinishReason.of(reason), "", 3, tokens, tokens, 0, "",
        List.of(new SpanTiming("0", "", "", tokens, 0, 1)));
  }

  static List<Map<Object, Object>> entries(String id) {
    List<MapRecord<String, Object, Object>> records = redis.opsForStream().read(StreamOffset.fromStart(
        RedisKeys.output(id)));
    return records == null ? List.of() : records.stream().map(MapRecord::getValue).toList();
  }

  static String text(String id) {
    return entries(id).stream().filter(e -> "text".equals(e.get("type"))).map(e -> (String) e.get("text"))
        .collect(Collectors.joining());
  }

  static List<Map<Object, Object>> dones(String id) {
    return entries(id).stream().filter(e -> "done".equals(e.get("type"))).toList();
  }

  @Test
  void aGapInASpansTokens_holdsTheRestAndTheFinish_untilTheMissingTokensCome() {
    RequestTracker t = tracker();
    String id = started(t);
    t.apply(main(id, false, WORDS[0]));
    // the event with token 1 was lost; token 2 and 3 come, then the span's end and the worker's finish
    t.apply(main(id, false, WORDS[2]));
    t.apply(main(id, true, WORDS[3]));
    t.finish(finished(id, "stop", 4));
    assertThat(dones(id)).as("no answer ends while a token is missing").isEmpty();
    assertThat(text(id)).isEqualTo("One");
    // a worker resumes the request from the recorded tokens and sends everything after them again
    t.checkGaps(Duration.ZERO, recovery);
    assertThat(recoveries).containsExactly("redispatch " + id);
    t.apply(main(id, false, WORDS[1], WORDS[2]));
    t.apply(main(id, true, WORDS[3]));
    t.finish(finished(id, "stop", 4));
    assertThat(text(id)).isEqualTo("One two three four.");
    assertThat(dones(id)).singleElement().satisfies(d -> assertThat(d).containsEntry("finishReason", "stop"));
    assertThat(redis.hasKey(RedisKeys.tokens(id, "0"))).as("program state deleted").isFalse();
    assertThat(t.views()).as("the view goes with the request").isZero();
  }

  @Test
  void aGapThatHoldsTheEnd_releasesEverythingOnceTheTokenComes() {
    RequestTracker t = tracker();
    String id = started(t);
    t.apply(main(id, false, WORDS[0]));
    t.apply(main(id, true, WORDS[2], WORDS[3]));
    t.apply(main(id, false, WORDS[1]));
    t.finish(finished(id, "stop", 4));
    assertThat(text(id)).isEqualTo("One two three four.");
    assertThat(dones(id)).singleElement().satisfies(d -> assertThat(d).containsEntry("finishReason", "stop"));
  }

  @Test
  void lostLastTokens_noticedAtTheFinish_neverEndTheAnswerStop() {
    RequestTracker t = tracker();
    String id = started(t);
    t.apply(main(id, false, WORDS[0], WORDS[1]));
    // the last event (tokens 2, 3 and the end) was lost; the finish says the span decoded 4 tokens
    t.finish(finished(id, "stop", 4));
    assertThat(dones(id)).isEmpty();
    t.checkGaps(Duration.ZERO, recovery);
    assertThat(recoveries).containsExactly("redispatch " + id);
    // nobody sends them again: past the bound once more, the request ends with an error, and its spans are stopped
    t.checkGaps(Duration.ZERO, recovery);
    assertThat(recoveries).containsExactly("redispatch " + id, "cancel " + id);
    assertThat(dones(id)).singleElement().satisfies(d -> assertThat(d).containsEntry("finishReason", "error")
        .extractingByKey("error").asString().contains("span 0 from token 2"));
    assertThat(text(id)).isEqualTo("One two");
    t.apply(main(id, true, WORDS[2], WORDS[3]));
    t.finish(finished(id, "stop", 4));
    assertThat(dones(id)).as("ended once").hasSize(1);
    assertThat(t.views()).isZero();
  }

  @Test
  void tokensLostBeforeASpansEndOnlyEvent_endTheRequestWithAnError_neverAShortStop() {
    RequestTracker t = tracker();
    String id = started(t);
    t.apply(main(id, false, WORDS[0]));
    // the event with tokens 1 to 3 was lost; the span's end came alone, then the finish counting 4 tokens: what
    // followed the span may have streamed already, so no resume can put them back in place
    t.apply(main(id, true));
    t.finish(finished(id, "stop", 4));
    assertThat(dones(id)).singleElement().satisfies(d -> assertThat(d).containsEntry("finishReason", "error")
        .extractingByKey("error").asString().contains("span 0"));
    assertThat(t.checkGaps(Duration.ZERO, recovery)).isZero();
    assertThat(t.views()).isZero();
  }

  @Test
  void aTokenAfterItsSpansEnd_endsTheRequestWithAnError() {
    RequestTracker t = tracker();
    String id = started(t);
    t.apply(main(id, false, WORDS[0]));
    t.apply(main(id, true));
    assertThat(t.apply(main(id, false, WORDS[1]))).as("its spans are to stop").isTrue();
    assertThat(dones(id)).singleElement().satisfies(d -> assertThat(d).containsEntry("finishReason", "error"));
    assertThat(text(id)).isEqualTo("One");
  }

  @Test
  void twoInstancesApplyingOneRequestsEvents_recordEachTokenOnce() {
    RequestTracker a = tracker();
    RequestTracker b = tracker();
    String id = started(a);
    a.apply(main(id, false, WORDS[0]));
    b.apply(main(id, false, WORDS[0]));
    // both read the partition for a moment (a rebalance): each gets the same events, in turns
    a.apply(main(id, false, WORDS[1]));
    b.apply(main(id, false, WORDS[1]));
    b.apply(main(id, false, WORDS[2]));
    a.apply(main(id, false, WORDS[2]));
    a.apply(main(id, true, WORDS[3]));
    b.apply(main(id, true, WORDS[3]));
    assertThat(redis.opsForList().range(RedisKeys.tokens(id, "0"), 0, -1)).containsExactly("10", "11", "12", "13");
    assertThat(text(id)).isEqualTo("One two three four.");
    b.finish(finished(id, "stop", 4));
    a.finish(finished(id, "stop", 4));
    assertThat(dones(id)).hasSize(1);
    assertThat(a.views() + b.views()).as("both views go when the request ends").isZero();
  }

  @Test
  void aViewOfARequestEndedElsewhere_orOfAPartitionThatMoved_isDropped() {
    RequestTracker a = tracker();
    RequestTracker b = tracker();
    String ended = started(a);
    a.apply(main(ended, false, WORDS[0]), 1);
    b.finish(finished(ended, "cancelled", 1));
    a.apply(main(ended, false, WORDS[1]), 1);
    assertThat(a.views()).as("a late event of an ended request").isZero();
    String moved = started(a);
    String stays = started(a);
    a.apply(main(moved, false, WORDS[0]), 2);
    a.apply(main(stays, false, WORDS[0]), 3);
    a.forgetPartitions(List.of(2));
    assertThat(a.views()).isEqualTo(1);
    // it comes back later: rebuilt from Redis, nothing repeated
    a.apply(main(moved, true, WORDS[0], WORDS[1]), 2);
    assertThat(text(moved)).isEqualTo("One two");
  }

  @Test
  void redisRestartedWithoutPersistence_eventsAndFinishOfTheLostRequest_endItWithAClearError() throws Exception {
    RequestTracker t = tracker();
    String running = started(t);
    String finishing = started(t);
    t.apply(main(running, false, WORDS[0]));
    t.apply(main(finishing, false, WORDS[0]));
    client.restartEmpty();
    // the gateway still reads each answer's stream: a final entry tells it at once
    assertThat(t.apply(main(running, false, WORDS[1]))).as("its spans are to stop").isTrue();
    t.finish(finished(finishing, "stop", 2));
    for (String id : List.of(running, finishing)) {
      assertThat(dones(id)).as(id).singleElement().satisfies(d -> assertThat(d)
          .containsEntry("finishReason", "error").containsEntry("error", RequestTracker.STATE_LOST));
    }
    assertThat(t.apply(main(running, true, WORDS[2]))).as("ended once").isFalse();
    assertThat(dones(running)).hasSize(1);
    Set<String> keys = redis.keys("pasta:*");
    assertThat(keys).isNotEmpty();
    for (String key : keys) {
      assertThat(redis.getExpire(key)).as("expiry of %s", key).isPositive();
    }
    assertThat(t.views()).isZero();
  }
}
