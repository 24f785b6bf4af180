package io.pastaserve.interpreter.program;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.pastaserve.common.lang.PastaLimits;
import io.pastaserve.common.lang.SpanId;
import io.pastaserve.common.messaging.RedisKeys;
import io.pastaserve.common.messaging.RequestFinishedEvent;
import io.pastaserve.common.messaging.TokenItem;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.data.redis.core.StringRedisTemplate;

/**
 * What Redis holds of a request, read back: its status, a {@link RequestView} rebuilt from the recorded tokens, and
 * the deletion of its program state once it has ended. An open gap is kept here too (in the request hash, and the
 * request in {@link #HELD}) with its clock and the worker's finish held behind it: once the worker has finished it
 * sends nothing more, so the view that holds the gap in memory must not be its only trace (a view is dropped when its
 * partition moves, rebuilt when it is out of date, forgotten when applying fails).
 */
final class RecordedRequests {

  private static final Logger log = LoggerFactory.getLogger(RecordedRequests.class);

  /** Requests whose gap outlives the view holding it, scored by when the gap was first seen (epoch ms). */
  static final String HELD = "pasta:requests:gap-held";

  private final StringRedisTemplate redis;
  private final ObjectMapper json;
  /** The limits of a request recorded without its own (by an interpreter that predates them). */
  private final PastaLimits defaultLimits;

  RecordedRequests(StringRedisTemplate redis, ObjectMapper json, PastaLimits defaultLimits) {
    this.redis = redis;
    this.json = json;
    this.defaultLimits = defaultLimits;
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
        "spanEvents", "gapFinish", "gapSince", "gapRedispatched", "gapMissing", RequestTracker.LIMITS_FIELD));
    RequestView view = new RequestView(id, partition, fields.get(1) == null ? 0 : Long.parseLong((String) fields
        .get(1)), fields.get(2) == null ? List.of() : readStops((String) fields.get(2)),
        fields.get(8) == null ? defaultLimits : readLimits((String) fields.get(8)));
    view.seq = fields.get(0) == null ? 0 : Long.parseLong((String) fields.get(0));
    view.spanEvents = "1".equals(fields.get(3));
    Map<Object, Object> spans = redis.opsForHash().entries(RedisKeys.spans(id));
    Map<Object, Object> ended = redis.opsForHash().entries(RedisKeys.ended(id));
    Map<Object, Object> workers = redis.opsForHash().entries(RedisKeys.spanWorkers(id));
    Map<Object, Object> topics = redis.opsForHash().entries(RedisKeys.spanTopics(id));
    List<String> order = spans.keySet().stream().map(String.class::cast).sorted((a, b) -> SpanId.of(a)
        .compareTo(SpanId.of(b))).toList();
    for (String span : order) {
      List<String> pieces = redis.opsForList().range(RedisKeys.pieces(id, span), 0, -1);
      view.span(span).parent = (String) spans.get(span);
      view.tree.restore(span, (String) topics.get(span), (String) workers.get(span));
      for (String piece : pieces == null ? List.<String>of() : pieces) {
        TokenItem item = read(piece);
        view.record(span, item);
        view.tree.forked(SpanId.of(span), item.forks());
      }
      if (ended.containsKey(span)) {
        view.end(span, (String) ended.get(span));
        view.tree.ended(span);
      }
    }
    restoreGap(view, fields.subList(4, 8));
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
    List<String> state = new ArrayList<>(List.of(RedisKeys.spans(id), RedisKeys.ended(id), RedisKeys.spanWorkers(id),
        RedisKeys.spanTopics(id)));
    Set<Object> spans = redis.opsForHash().keys(RedisKeys.spans(id));
    for (Object span : spans) {
      state.add(RedisKeys.tokens(id, (String) span));
      state.add(RedisKeys.pieces(id, (String) span));
    }
    redis.delete(state);
    redis.opsForZSet().remove(RedisKeys.RUNNING, id);
    redis.opsForZSet().remove(HELD, id);
  }

  /** Keeps the view's open gap — its clock, and the worker's finish held behind it if any — in Redis. */
  void hold(RequestView view) {
    new RequestScripts.Hold(view.id, view.heldFinish == null ? "" : write(view.heldFinish),
        epochMillis(view.gapSince)).run(redis);
  }

  /**
   * Records that the view's request is sent to the workers again: 1 when this instance sends it, 0 when another one
   * did so within {@code bound}, -1 when Redis keeps no open gap for it (filled elsewhere) or it no longer runs.
   */
  long redispatching(RequestView view, Duration bound) {
    long now = System.currentTimeMillis();
    Long result = new RequestScripts.Redispatch(view.id, now - bound.toMillis(), now, view.firstGap()).run(redis);
    return result == null ? -1 : result;
  }

  /** The request's gap has filled: nothing of it is kept any more. */
  void clearGap(String id) {
    redis.opsForHash().delete(RedisKeys.request(id), "gapFinish", "gapSince", "gapRedispatched", "gapMissing");
    redis.opsForZSet().remove(HELD, id);
  }

  /** Requests whose gap was first seen (or last acted on) {@code bound} ago or longer, on any instance. */
  Set<String> gapsOlderThan(Duration bound) {
    Set<String> ids = redis.opsForZSet().rangeByScore(HELD, 0, System.currentTimeMillis() - bound.toMillis());
    return ids == null ? Set.of() : ids;
  }

  /** Whether Redis still keeps the request's gap (the instance that fills a gap clears it). */
  boolean gapKept(String id) {
    return redis.opsForZSet().score(HELD, id) != null;
  }

  /** Forgets a request that no longer runs from {@link #HELD}. */
  void forgetGap(String id) {
    redis.opsForZSet().remove(HELD, id);
  }

  private void restoreGap(RequestView view, List<Object> gap) {
    if (gap.get(1) == null) {
      return;
    }
    view.heldFinish = gap.get(0) == null ? null : readFinish((String) gap.get(0));
    long ago = Math.max(0, System.currentTimeMillis() - Long.parseLong((String) gap.get(1)));
    view.gapSince = (System.nanoTime() - TimeUnit.MILLISECONDS.toNanos(ago)) | 1;
    view.redispatched = "1".equals(gap.get(2));
    view.missing = (String) gap.get(3);
    log.info("request {}: its gap is open since {} ms ({})", view.id, ago, view.firstGap());
  }

  /** The epoch time of a {@link System#nanoTime} reading. */
  private static long epochMillis(long nanoTime) {
    return System.currentTimeMillis() - TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - nanoTime);
  }

  private String write(Object value) {
    try {
      return json.writeValueAsString(value);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  private RequestFinishedEvent readFinish(String value) {
    try {
      return json.readValue(value, RequestFinishedEvent.class);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("unreadable finish in Redis: " + value, e);
    }
  }

  private PastaLimits readLimits(String value) {
    try {
      return json.readValue(value, PastaLimits.class);
    } catch (JsonProcessingException | IllegalArgumentException e) {
      log.warn("unreadable limits in Redis ({}): this instance's apply", value);
      return defaultLimits;
    }
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
