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
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import java.util.stream.Collectors;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;
import org.springframework.data.redis.connection.stream.MapRecord;
import org.springframework.data.redis.connection.stream.StreamOffset;
import org.springframework.data.redis.core.StringRedisTemplate;

/**
 * The interpreter's record of a request against adversarial delivery, on a real Redis: span events of different
 * spans interleaved in any order, events delivered again (at once or late, after later ones), and the tracker
 * replaced by a fresh instance (a restart, another replica) at any point. Kafka keeps one span's events in order
 * (one partition per request); everything else may happen. No text is lost or repeated, and the answer ends once.
 */
class AdversarialEventOrderTest {

  static RedisTestClient client;
  static StringRedisTemplate redis;
  static final ObjectMapper JSON = new ObjectMapper();

  @BeforeContainer
  static void start() throws Exception {
    client = RedisTestClient.start();
    redis = client.template();
  }

  @AfterContainer
  static void stop() {
    client.close();
  }

  /** A span's events in order, and the text the whole answer must be. */
  record Program(Map<String, List<SpanTokensEvent>> events, String expected) {
  }

  static Program program(String id, Random random) {
    int forks = random.nextInt(5);
    Map<String, List<TokenItem>> items = new java.util.LinkedHashMap<>();
    StringBuilder expected = new StringBuilder();
    List<TokenItem> main = new ArrayList<>();
    int token = 0;
    for (int f = 1; f <= forks + 1; f++) {
      for (int t = 0; t < 1 + random.nextInt(4); t++) {
        String text = "m" + f + "." + t + " ";
        main.add(new TokenItem(main.size(), token++, text, List.of()));
        expected.append(text);
      }
      if (f <= forks) {
        String child = "0." + f;
        main.add(new TokenItem(main.size(), token++, "", List.of(child)));
        List<TokenItem> childItems = new ArrayList<>();
        for (int t = 0; t < 1 + random.nextInt(6); t++) {
          String text = "c" + f + "." + t + " ";
          childItems.add(new TokenItem(t, token++, text, List.of()));
          expected.append(text);
        }
        items.put(child, childItems);
      }
    }
    items.put("0", main);
    Map<String, List<SpanTokensEvent>> events = new java.util.LinkedHashMap<>();
    for (Map.Entry<String, List<TokenItem>> e : items.entrySet()) {
      List<SpanTokensEvent> list = new ArrayList<>();
      List<TokenItem> all = e.getValue();
      int i = 0;
      while (i < all.size()) {
        int n = 1 + random.nextInt(3);
        List<TokenItem> chunk = all.subList(i, Math.min(all.size(), i + n));
        i += chunk.size();
        list.add(new SpanTokensEvent(1, id, e.getKey(), e.getKey().equals("0") ? "" : "0", List.copyOf(chunk), "",
            i >= all.size()));
      }
      events.put(e.getKey(), list);
    }
    return new Program(events, expected.toString());
  }

  @Property(tries = 60)
  void anyInterleaving_withDuplicatesAndRestarts_streamsEachCharacterOnce(@ForAll long seed) {
    Random random = new Random(seed);
    String id = "adv-" + UUID.randomUUID();
    Program program = program(id, random);
    RequestTracker tracker = new RequestTracker(redis, JSON, Duration.ofMinutes(5), Duration.ofMinutes(1));
    tracker.start(new GenerateCommand(1, id, "p", new Sampling(0, 1, 0, 0, 100, List.of()), Mode.ASYNC, "", ""), "{}");
    Map<String, Integer> next = new java.util.HashMap<>();
    program.events().keySet().forEach(k -> next.put(k, 0));
    List<SpanTokensEvent> delivered = new ArrayList<>();
    while (next.entrySet().stream().anyMatch(e -> e.getValue() < program.events().get(e.getKey()).size())) {
      List<String> open = next.entrySet().stream().filter(e -> e.getValue() < program.events().get(e.getKey())
          .size()).map(Map.Entry::getKey).toList();
      String span = open.get(random.nextInt(open.size()));
      SpanTokensEvent event = program.events().get(span).get(next.get(span));
      next.merge(span, 1, Integer::sum);
      tracker.apply(event);
      delivered.add(event);
      if (random.nextInt(4) == 0) {
        tracker.apply(event); // delivered twice in a row
      }
      if (!delivered.isEmpty() && random.nextInt(5) == 0) {
        tracker.apply(delivered.get(random.nextInt(delivered.size()))); // a late duplicate
      }
      if (random.nextInt(8) == 0) {
        tracker = new RequestTracker(redis, JSON, Duration.ofMinutes(5), Duration.ofMinutes(1)); // restart
      }
    }
    RequestFinishedEvent finished = new RequestFinishedEvent(1, id, FinishReason.STOP, "", 3, 10, 5, 1, "", List.of());
    tracker.finish(finished);
    new RequestTracker(redis, JSON, Duration.ofMinutes(5), Duration.ofMinutes(1)).finish(finished);
    List<MapRecord<String, Object, Object>> records = redis.opsForStream().read(StreamOffset.fromStart(
        RedisKeys.output(id)));
    String text = records.stream().filter(r -> "text".equals(r.getValue().get("type")))
        .map(r -> (String) r.getValue().get("text")).collect(Collectors.joining());
    assertThat(text).isEqualTo(program.expected());
    assertThat(records.stream().filter(r -> "done".equals(r.getValue().get("type")))).hasSize(1);
  }
}
