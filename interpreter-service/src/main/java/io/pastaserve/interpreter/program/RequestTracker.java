package io.pastaserve.interpreter.program;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.pastaserve.common.lang.OrderedAssembler;
import io.pastaserve.common.lang.SpanId;
import io.pastaserve.common.lang.StopMatcher;
import io.pastaserve.common.messaging.GenerateCommand;
import io.pastaserve.common.messaging.RedisKeys;
import io.pastaserve.common.messaging.RequestOwner;
import io.pastaserve.common.messaging.RequestFinishedEvent;
import io.pastaserve.common.messaging.SpanTokensEvent;
import io.pastaserve.common.messaging.TokenItem;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.data.redis.core.StringRedisTemplate;
import org.springframework.data.redis.core.script.RedisScript;

/**
 * Records each request's program in Redis and streams its answer in final order to the request's output stream.
 * Span events are applied idempotently by token index, so a redelivered or replayed event never duplicates text;
 * the in-memory view of a request is rebuilt from Redis when this instance did not see its start (another
 * instance, or a restart). Thread-safe: the calls for one request are serialized.
 */
public final class RequestTracker {

  private static final Logger log = LoggerFactory.getLogger(RequestTracker.class);

  private final StringRedisTemplate redis;
  private final ObjectMapper json;
  private final Duration runningTtl;
  private final Duration finishedTtl;
  private final Map<String, View> views = new ConcurrentHashMap<>();
  /** Span events and cancellations of one request arrive on different consumer threads: one at a time. */
  private final Object[] locks = new Object[64];

  {
    for (int i = 0; i < locks.length; i++) {
      locks[i] = new Object();
    }
  }

  private Object lock(String requestId) {
    return locks[Math.floorMod(requestId.hashCode(), locks.length)];
  }

  public RequestTracker(StringRedisTemplate redis, ObjectMapper json, Duration runningTtl, Duration finishedTtl) {
    this.redis = redis;
    this.json = json;
    this.runningTtl = runningTtl;
    this.finishedTtl = finishedTtl;
  }

  /** One request as this instance sees it. */
  private final class View {
    final String id;
    final Map<String, Integer> nextIndex = new HashMap<>();
    final Set<String> ended = ConcurrentHashMap.newKeySet();
    final OrderedAssembler assembler;
    /** Stop strings apply to the answer in final order, across spans. */
    final StopMatcher stop;
    final StringBuilder pending = new StringBuilder();
    long skip;

    /** Whether the output stream also carries span entries (live views). */
    boolean spanEvents;

    View(String id, long alreadyEmitted, List<String> stops) {
      this.id = id;
      this.skip = alreadyEmitted;
      this.stop = new StopMatcher(stops);
      this.assembler = new OrderedAssembler(text -> release(stop.feed(text)));
    }

    /** Text in final order, past the stop matcher: what a rebuild already streamed is skipped. */
    void release(String text) {
      if (skip >= text.length()) {
        skip -= text.length();
      } else {
        pending.append(text, (int) skip, text.length());
        skip = 0;
      }
    }

    long tokens() {
      return nextIndex.values().stream().mapToLong(Integer::longValue).sum();
    }
  }

  /** Where a request stood when it was (re)delivered. */
  public enum Start {
    /** First delivery: recorded now. */
    NEW,
    /** Redelivered while it runs: dispatch it again (a worker resumes it from Redis, or ignores the copy). */
    RUNNING,
    /** Redelivered after it ended: nothing to do. */
    FINISHED
  }

  /**
   * Records a new request with the span job that runs it (what the request is dispatched with again if its worker
   * goes), or says where a redelivered one stands.
   */
  public Start start(GenerateCommand command, String job) {
    String key = RedisKeys.request(command.requestId());
    Boolean created = redis.opsForHash().putIfAbsent(key, "status", "running");
    if (!Boolean.TRUE.equals(created)) {
      return isFinished(command.requestId()) ? Start.FINISHED : Start.RUNNING;
    }
    Map<String, String> fields = new LinkedHashMap<>();
    fields.put("prompt", command.prompt());
    fields.put("mode", command.mode());
    fields.put("stop", write(command.sampling().stop()));
    fields.put("spanEvents", command.spanEvents() ? "1" : "0");
    fields.put("emitted", "0");
    fields.put("job", job);
    fields.put(RequestOwner.FIELD, "");
    redis.opsForHash().putAll(key, fields);
    redis.opsForZSet().add(RedisKeys.RUNNING, command.requestId(), System.currentTimeMillis());
    redis.opsForHash().put(RedisKeys.spans(command.requestId()), "0", "");
    for (String k : List.of(key, RedisKeys.spans(command.requestId()))) {
      redis.expire(k, runningTtl);
    }
    View view = new View(command.requestId(), 0, command.sampling().stop());
    view.spanEvents = command.spanEvents();
    views.put(command.requestId(), view);
    return Start.NEW;
  }

  /**
   * Applies a span's tokens: records them, and streams whatever text is now in final order. Returns true when the
   * answer reached one of its stop strings: the request has ended here (finish reason {@code stop}) and the caller
   * cancels its spans.
   */
  public boolean apply(SpanTokensEvent event) {
    String id = event.requestId();
    synchronized (lock(id)) {
      if (!views.containsKey(id) && isFinished(id)) {
        return false;
      }
      View view = views.computeIfAbsent(id, this::rebuild);
      try {
        applyTo(view, event);
        if (view.stop.matched()) {
          done(view, List.of("type", "done", "finishReason", "stop", "error", "", "promptTokens", "0",
              "completionTokens", Long.toString(view.tokens()), "criticalPathTokens", "0",
              "forks", Integer.toString(Math.max(0, view.nextIndex.size() - 1)), "annotated", "", "spans", "[]"));
          return true;
        }
        return false;
      } catch (RuntimeException e) {
        // the view may be ahead of Redis now: forget it, the retry rebuilds it from what Redis holds
        views.remove(id);
        throw e;
      }
    }
  }

  private void applyTo(View view, SpanTokensEvent event) {
    String id = event.requestId();
    String span = event.spanId();
    view.nextIndex.putIfAbsent(span, 0);
    List<String> tokens = new ArrayList<>();
    List<String> pieces = new ArrayList<>();
    List<TokenItem> fresh = new ArrayList<>();
    for (TokenItem item : event.items()) {
      int next = view.nextIndex.get(span);
      if (item.index() < next) {
        continue;
      }
      if (item.index() > next) {
        log.warn("request {} span {}: token {} arrived before {}; waiting for redelivery", id, span, item.index(),
            next);
        break;
      }
      tokens.add(Integer.toString(item.token()));
      pieces.add(write(item));
      fresh.add(item);
      view.nextIndex.put(span, next + 1);
      view.assembler.text(SpanId.of(span), item.text());
      for (String fork : item.forks()) {
        view.assembler.fork(SpanId.of(span), SpanId.of(fork));
      }
    }
    boolean ends = event.ended() && view.ended.add(span);
    if (ends) {
      view.assembler.text(SpanId.of(span), event.trailingText());
      view.assembler.end(SpanId.of(span));
    }
    String text = view.pending.toString();
    view.pending.setLength(0);
    String spanEntry = view.spanEvents && (!fresh.isEmpty() || ends)
        ? write(new SpanEntry(span, event.parentSpanId(), fresh.stream().map(i -> new SpanEntry.Piece(i.text(),
            i.forks())).toList(), ends ? event.trailingText() : "", ends)) : "";
    List<String> args = new ArrayList<>(List.of(span, event.parentSpanId(), Long.toString(runningTtl.toSeconds()),
        ends ? "1" : "0", event.trailingText(), text, Integer.toString(text.length()),
        Integer.toString(tokens.size()), id, spanEntry));
    args.addAll(tokens);
    args.addAll(pieces);
    redis.execute(APPLY, List.of(RedisKeys.spans(id), RedisKeys.tokens(id, span), RedisKeys.pieces(id, span),
        RedisKeys.ended(id), RedisKeys.output(id), RedisKeys.request(id)), args.toArray());
  }

  /**
   * Records a span's new tokens and the text they release, atomically: a crash never leaves tokens without their
   * pieces, nor streamed text without its count (which a rebuild skips).
   */
  private static final RedisScript<Long> APPLY = RedisScript.of("""
      if redis.call('HGET', KEYS[6], 'status') == 'finished' then return 0 end
      redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2])
      local n = tonumber(ARGV[8])
      if n > 0 then
        for i = 1, n do redis.call('RPUSH', KEYS[2], ARGV[10 + i]) end
        for i = 1, n do redis.call('RPUSH', KEYS[3], ARGV[10 + n + i]) end
        redis.call('EXPIRE', KEYS[2], ARGV[3])
        redis.call('EXPIRE', KEYS[3], ARGV[3])
      end
      if ARGV[4] == '1' then
        redis.call('HSET', KEYS[4], ARGV[1], ARGV[5])
        redis.call('EXPIRE', KEYS[4], ARGV[3])
      end
      if ARGV[10] ~= '' then
        redis.call('XADD', KEYS[5], '*', 'type', 'span', 'span', ARGV[10])
        redis.call('EXPIRE', KEYS[5], ARGV[3])
        if ARGV[6] == '' then redis.call('PUBLISH', '%s', ARGV[9]) end
      end
      if ARGV[6] ~= '' then
        redis.call('XADD', KEYS[5], '*', 'type', 'text', 'text', ARGV[6])
        redis.call('HINCRBY', KEYS[6], 'emitted', ARGV[7])
        redis.call('EXPIRE', KEYS[5], ARGV[3])
        redis.call('PUBLISH', '%s', ARGV[9])
      end
      return 1
      """.formatted(RedisKeys.OUTPUT_READY, RedisKeys.OUTPUT_READY), Long.class);

  /** The final entry, once: text still held, then {@code done}, and the status, atomically. */
  private static final RedisScript<Long> FINISH = RedisScript.of("""
      if redis.call('HGET', KEYS[1], 'status') == 'finished' then return 0 end
      if ARGV[1] ~= '' then
        redis.call('XADD', KEYS[2], '*', 'type', 'text', 'text', ARGV[1])
        redis.call('HINCRBY', KEYS[1], 'emitted', ARGV[2])
      end
      local fields = {}
      for i = 4, #ARGV do fields[#fields + 1] = ARGV[i] end
      redis.call('XADD', KEYS[2], '*', unpack(fields))
      redis.call('HSET', KEYS[1], 'status', 'finished')
      redis.call('PUBLISH', '%s', ARGV[3])
      return 1
      """.formatted(RedisKeys.OUTPUT_READY), Long.class);

  /** The worker finished the request: the output stream gets its final entry; the state keys expire soon. */
  public void finish(RequestFinishedEvent event) {
    String id = event.requestId();
    synchronized (lock(id)) {
      if (isFinished(id)) {
        return;
      }
      View view = views.computeIfAbsent(id, this::rebuild);
      view.release(view.stop.finish());
      done(view, List.of("type", "done", "finishReason", event.finishReason(), "error", event.error(),
        "promptTokens", Integer.toString(event.promptTokens()),
        "completionTokens", Long.toString(event.completionTokens()),
        "criticalPathTokens", Long.toString(event.criticalPathTokens()), "forks", Integer.toString(event.forks()),
        "annotated", event.annotated(), "spans", write(event.spans())));
    }
  }

  /** Ends a request that will not finish normally (cancelled): the stream says why; the keys expire soon. */
  public void abandon(String id, String reason) {
    synchronized (lock(id)) {
      if (isFinished(id)) {
        return;
      }
      View view = views.computeIfAbsent(id, this::rebuild);
      done(view, List.of("type", "done", "finishReason", reason));
    }
  }

  private void done(View view, List<String> fields) {
    String text = view.pending.toString();
    view.pending.setLength(0);
    List<String> args = new ArrayList<>(List.of(text, Integer.toString(text.length()), view.id));
    args.addAll(fields);
    redis.execute(FINISH, List.of(RedisKeys.request(view.id), RedisKeys.output(view.id)), args.toArray());
    expireAll(view.id, finishedTtl);
    views.remove(view.id);
  }

  private boolean isFinished(String id) {
    return "finished".equals(redis.opsForHash().get(RedisKeys.request(id), "status"));
  }

  /** A request this instance has not seen start: replays what Redis recorded, without emitting it again. */
  private View rebuild(String id) {
    Object emitted = redis.opsForHash().get(RedisKeys.request(id), "emitted");
    Object stops = redis.opsForHash().get(RedisKeys.request(id), "stop");
    View view = new View(id, emitted == null ? 0 : Long.parseLong((String) emitted), stops == null ? List.of()
        : readStops((String) stops));
    view.spanEvents = "1".equals(redis.opsForHash().get(RedisKeys.request(id), "spanEvents"));
    Map<Object, Object> spans = redis.opsForHash().entries(RedisKeys.spans(id));
    Map<Object, Object> ended = redis.opsForHash().entries(RedisKeys.ended(id));
    List<String> order = spans.keySet().stream().map(String.class::cast).sorted((a, b) -> SpanId.of(a)
        .compareTo(SpanId.of(b))).toList();
    for (String span : order) {
      List<String> pieces = redis.opsForList().range(RedisKeys.pieces(id, span), 0, -1);
      int n = 0;
      for (String piece : pieces == null ? List.<String>of() : pieces) {
        TokenItem item = read(piece);
        view.assembler.text(SpanId.of(span), item.text());
        for (String fork : item.forks()) {
          view.assembler.fork(SpanId.of(span), SpanId.of(fork));
        }
        n++;
      }
      view.nextIndex.put(span, n);
      if (ended.containsKey(span)) {
        view.assembler.text(SpanId.of(span), (String) ended.get(span));
        view.assembler.end(SpanId.of(span));
        view.ended.add(span);
      }
    }
    log.info("request {}: state rebuilt from Redis ({} spans)", id, order.size());
    return view;
  }

  /**
   * The request has ended: this instance owns its keys and deletes the program state now; the request hash and
   * the output stream stay for {@code ttl}, for readers that come late.
   */
  private void expireAll(String id, Duration ttl) {
    List<String> state = new ArrayList<>(List.of(RedisKeys.spans(id), RedisKeys.ended(id)));
    Set<Object> spans = redis.opsForHash().keys(RedisKeys.spans(id));
    for (Object span : spans) {
      state.add(RedisKeys.tokens(id, (String) span));
      state.add(RedisKeys.pieces(id, (String) span));
    }
    redis.delete(state);
    redis.opsForZSet().remove(RedisKeys.RUNNING, id);
    redis.expire(RedisKeys.request(id), ttl);
    redis.expire(RedisKeys.output(id), ttl);
  }

  private String write(Object value) {
    try {
      return json.writeValueAsString(value);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * A {@code span} entry of the output stream: what one span decoded since its last entry, token by token, with
   * the forks each token started — enough to draw each span's lane as it fills.
   */
  record SpanEntry(String span, String parent, List<Piece> pieces, String trailing, boolean ended) {

    record Piece(String text, List<String> forks) {
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
