package io.pastaserve.interpreter.program;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.pastaserve.common.lang.SpanId;
import io.pastaserve.common.messaging.RedisKeys;
import io.pastaserve.common.messaging.TokenItem;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.data.redis.core.StringRedisTemplate;

/**
 * What Redis holds of a request, read back: its status, a {@link RequestView} rebuilt from the recorded tokens, and
 * the deletion of its program state once it has ended.
 */
final class RecordedRequests {

  private static final Logger log = LoggerFactory.getLogger(RecordedRequests.class);

  private final StringRedisTemplate redis;
  private final ObjectMapper json;

  RecordedRequests(StringRedisTemplate redis, ObjectMapper json) {
    this.redis = redis;
    this.json = json;
  }

  /** {@code running}, {@code finished}, or null when the request's state is not in Redis. */
  String status(String id) {
    return (String) redis.opsForHash().get(RedisKeys.request(id), "status");
  }

  /**
   * A request this instance has not seen start, or whose view is out of date: replays what Redis recorded, without
   * emitting it again. The {@code seq} is read first, so a view built while another instance writes is never taken
   * for newer than it is (its next write is refused, and it is rebuilt).
   */
  RequestView rebuild(String id, int partition) {
    List<Object> fields = redis.opsForHash().multiGet(RedisKeys.request(id), List.of("seq", "emitted", "stop",
        "spanEvents"));
    RequestView view = new RequestView(id, partition, fields.get(1) == null ? 0 : Long.parseLong((String) fields
        .get(1)), fields.get(2) == null ? List.of() : readStops((String) fields.get(2)));
    view.seq = fields.get(0) == null ? 0 : Long.parseLong((String) fields.get(0));
    view.spanEvents = "1".equals(fields.get(3));
    Map<Object, Object> spans = redis.opsForHash().entries(RedisKeys.spans(id));
    Map<Object, Object> ended = redis.opsForHash().entries(RedisKeys.ended(id));
    List<String> order = spans.keySet().stream().map(String.class::cast).sorted((a, b) -> SpanId.of(a)
        .compareTo(SpanId.of(b))).toList();
    for (String span : order) {
      List<String> pieces = redis.opsForList().range(RedisKeys.pieces(id, span), 0, -1);
      view.span(span).parent = (String) spans.get(span);
      for (String piece : pieces == null ? List.<String>of() : pieces) {
        view.record(span, read(piece));
      }
      if (ended.containsKey(span)) {
        view.end(span, (String) ended.get(span));
      }
    }
    if (view.tokens() > 0) {
      log.info("request {}: state rebuilt from Redis ({} spans, {} tokens)", id, order.size(), view.tokens());
    } else {
      // a request whose first events come here: what another instance (or this one) recorded at its start
      log.debug("request {}: state read from Redis (nothing decoded yet)", id);
    }
    return view;
  }

  /**
   * The request has ended: the instance that ended it deletes the program state now; the request hash and the output
   * stream stay for the finished TTL (set with the final entry), for readers that come late.
   */
  void deleteState(String id) {
    List<String> state = new ArrayList<>(List.of(RedisKeys.spans(id), RedisKeys.ended(id)));
    Set<Object> spans = redis.opsForHash().keys(RedisKeys.spans(id));
    for (Object span : spans) {
      state.add(RedisKeys.tokens(id, (String) span));
      state.add(RedisKeys.pieces(id, (String) span));
    }
    redis.delete(state);
    redis.opsForZSet().remove(RedisKeys.RUNNING, id);
  }

  private List<String> readStops(String value) {
    try {
      return List.of(json.readValue(value, String[].class));
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("unreadable stop strings in Redis: " + value, e);
    }
  }

  private TokenItem read(String value) {
    try {
      return json.readValue(value, TokenItem.class);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("unreadable token item in Redis: " + value, e);
    }
  }
}
