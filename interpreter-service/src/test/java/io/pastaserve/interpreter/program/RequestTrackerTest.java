package io.pastaserve.interpreter.program;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.pastaserve.common.messaging.GenerateCommand;
import io.pastaserve.common.messaging.RedisKeys;
import io.pastaserve.common.messaging.RequestFinishedEvent;
import io.pastaserve.common.messaging.SpanTokensEvent;
import io.pastaserve.common.messaging.TokenItem;
import io.pastaserve.common.request.FinishReason;
import io.pastaserve.common.request.Mode;
import io.pastaserve.common.request.Sampling;
import io.pastaserve.testing.RedisTestClient;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.springframework.data.redis.connection.stream.MapRecord;
import org.springframework.data.redis.connection.stream.StreamOffset;
import org.springframework.data.redis.core.StringRedisTemplate;

/** The tracker against a real Redis: idempotent, ordered, resumable. */
class RequestTrackerTest {

  static RedisTestClient client;
  static StringRedisTemplate redis;
  static final ObjectMapper JSON = new ObjectMapper();

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

  static GenerateCommand command(String id) {
    return new GenerateCommand(1, id, "p", new Sampling(0, 1, 0, 0, 100, List.of()), Mode.ASYNC, "", "");
  }

  static SpanTokensEvent tokens(String id, String span, String parent, boolean ended, TokenItem... items) {
    return new SpanTokensEvent(1, id, span, parent, List.of(items), "", ended);
  }

  static String output(String id) {
    List<MapRecord<String, Object, Object>> records = redis.opsForStream().read(StreamOffset.fromStart(
        RedisKeys.output(id)));
    return records.stream().filter(r -> "text".equals(r.getValue().get("type")))
        .map(r -> (String) r.getValue().get("text")).collect(Collectors.joining());
  }

  static final TokenItem[] MAIN = {
      new TokenItem(0, 10, "Tips:", List.of()),
      new TokenItem(1, 11, "", List.of("0.1")),
      new TokenItem(2, 12, " Done.", List.of())};
  static final TokenItem[] FORK = {new TokenItem(0, 20, " Sleep", List.of()), new TokenItem(1, 21, " 8h.", List.of())};

  @Test
  void textStreamsInFinalOrder_andDuplicatesAreIgnored() {
    RequestTracker t = tracker();
    assertThat(t.start(command("a"), "{\"job\":1}")).isEqualTo(RequestTracker.Start.NEW);
    assertThat(t.start(command("a"), "{}")).isEqualTo(RequestTracker.Start.RUNNING);
    // what the lease watchdog needs: the job to send again, no owner yet, and the request listed as running
    assertThat(redis.opsForHash().get(RedisKeys.request("a"), "job")).isEqualTo("{\"job\":1}");
    assertThat(redis.opsForHash().get(RedisKeys.request("a"), "worker")).isEqualTo("");
    assertThat(redis.opsForZSet().score(RedisKeys.RUNNING, "a")).isNotNull();
    t.apply(tokens("a", "0", "", true, MAIN));
    assertThat(output("a")).isEqualTo("Tips:");
    t.apply(tokens("a", "0.1", "0", false, FORK[0]));
    t.apply(tokens("a", "0.1", "0", false, FORK[0]));
    assertThat(output("a")).isEqualTo("Tips: Sleep");
    t.apply(tokens("a", "0.1", "0", true, FORK));
    t.apply(tokens("a", "0", "", true, MAIN));
    assertThat(output("a")).isEqualTo("Tips: Sleep 8h. Done.");
    assertThat(redis.opsForList().range(RedisKeys.tokens("a", "0.1"), 0, -1)).containsExactly("20", "21");
    t.finish(new RequestFinishedEvent(1, "a", FinishReason.STOP, "", 3, 5, 4, 1, "x", List.of()));
    t.finish(new RequestFinishedEvent(1, "a", FinishReason.STOP, "", 3, 5, 4, 1, "x", List.of()));
    List<MapRecord<String, Object, Object>> records = redis.opsForStream().read(StreamOffset.fromStart(
        RedisKeys.output("a")));
    assertThat(records.stream().filter(r -> "done".equals(r.getValue().get("type")))).hasSize(1);
    assertThat(t.start(command("a"), "{}")).isEqualTo(RequestTracker.Start.FINISHED);
    assertThat(redis.opsForZSet().score(RedisKeys.RUNNING, "a")).as("no longer running").isNull();
    // the owner deletes the program state when the request ends; the answer stays readable for a while
    assertThat(redis.hasKey(RedisKeys.tokens("a", "0.1"))).isFalse();
    assertThat(redis.hasKey(RedisKeys.spans("a"))).isFalse();
    assertThat(redis.getExpire(RedisKeys.output("a"))).isBetween(1L, 60L);
    assertThat(redis.getExpire(RedisKeys.request("a"))).isBetween(1L, 60L);
  }

  @Test
  void anotherInstance_resumesFromRedis_withoutRepeatingText() {
    RequestTracker first = tracker();
    first.start(command("b"), "{}");
    first.apply(tokens("b", "0", "", false, MAIN[0], MAIN[1]));
    first.apply(tokens("b", "0.1", "0", false, FORK[0]));
    assertThat(output("b")).isEqualTo("Tips: Sleep");
    // the first instance is gone; a new one receives the rest, with some of the old events again
    RequestTracker second = tracker();
    second.apply(tokens("b", "0.1", "0", true, FORK));
    second.apply(tokens("b", "0", "", true, MAIN));
    assertThat(output("b")).isEqualTo("Tips: Sleep 8h. Done.");
    Map<Object, Object> spans = redis.opsForHash().entries(RedisKeys.spans("b"));
    assertThat(spans).containsEntry("0.1", "0");
  }

  @Test
  void aStopStringAcrossSpans_endsTheAnswerBeforeIt_once_evenAfterARebuild() {
    GenerateCommand command = new GenerateCommand(1, "s", "p", new Sampling(0, 1, 0, 0, 100, List.of(": Sl")),
        Mode.ASYNC, "", "");
    RequestTracker t = tracker();
    t.start(command, "{}");
    assertThat(t.apply(tokens("s", "0", "", false, MAIN[0], MAIN[1]))).isFalse();
    assertThat(output("s")).isEqualTo("Tips");
    // another instance takes over: it rebuilds the request, stop strings included
    RequestTracker other = tracker();
    assertThat(other.apply(tokens("s", "0.1", "0", false, FORK[0]))).isTrue();
    assertThat(output("s")).isEqualTo("Tips");
    List<MapRecord<String, Object, Object>> records = redis.opsForStream().read(StreamOffset.fromStart(
        RedisKeys.output("s")));
    Map<Object, Object> done = records.get(records.size() - 1).getValue();
    assertThat(done).containsEntry("type", "done").containsEntry("finishReason", "stop")
        .containsEntry("completionTokens", "3");
    assertThat(other.apply(tokens("s", "0.1", "0", true, FORK[1]))).isFalse();
    other.finish(new RequestFinishedEvent(1, "s", FinishReason.CANCELLED, "", 3, 5, 4, 1, "x", List.of()));
    assertThat(redis.opsForStream().read(StreamOffset.fromStart(RedisKeys.output("s")))).hasSameSizeAs(records);
  }

  @Test
  void spanEntries_followEachSpan_whenAskedFor() throws Exception {
    GenerateCommand command = new GenerateCommand(1, "v", "p", new Sampling(0, 1, 0, 0, 100, List.of()), Mode.ASYNC,
        "", "", true);
    RequestTracker t = tracker();
    t.start(command, "{}");
    t.apply(tokens("v", "0", "", true, MAIN));
    t.apply(tokens("v", "0.1", "0", true, FORK));
    List<Map<Object, Object>> spans = redis.opsForStream().read(StreamOffset.fromStart(RedisKeys.output("v")))
        .stream().map(MapRecord::getValue).filter(v -> "span".equals(v.get("type"))).toList();
    assertThat(spans).hasSize(2);
    var main = JSON.readTree((String) spans.get(0).get("span"));
    assertThat(main.path("span").asText()).isEqualTo("0");
    assertThat(main.path("pieces")).hasSize(3);
    assertThat(main.path("pieces").get(1).path("forks").get(0).asText()).isEqualTo("0.1");
    var fork = JSON.readTree((String) spans.get(1).get("span"));
    assertThat(fork.path("parent").asText()).isEqualTo("0");
    assertThat(fork.path("ended").asBoolean()).isTrue();
    assertThat(output("v")).isEqualTo("Tips: Sleep 8h. Done.");
    // without asking, none
    t.start(command("w"), "{}");
    t.apply(tokens("w", "0", "", true, MAIN));
    assertThat(redis.opsForStream().read(StreamOffset.fromStart(RedisKeys.output("w"))).stream()
        .noneMatch(r -> "span".equals(r.getValue().get("type")))).isTrue();
  }
}
