package io.pastaserve.interpreter.program;

import io.pastaserve.common.messaging.RedisKeys;
import io.pastaserve.common.output.OutputCodec;
import io.pastaserve.common.output.OutputEntry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.springframework.data.redis.core.StringRedisTemplate;
import org.springframework.data.redis.core.script.RedisScript;

/**
 * The Lua scripts through which an interpreter writes a request's state, each atomic, each with a record that names
 * its arguments and lays them out as the script reads them ({@link Call#keys}, {@link Call#argv}); each script's top
 * says what its KEYS and ARGV are and binds them to names. Every key a script writes gets an expiry in the same
 * script, so no key outlives its request even when the state it extends was lost (a Redis restarted without
 * persistence). The request hash's {@code seq} counts recorded changes: an instance writes only when its view of the
 * request matches that count, so two instances briefly reading one partition (a rebalance) never record a token twice
 * nor stream text twice — the one behind rebuilds its view and tries again. The output stream's entries are written
 * in {@link OutputCodec}'s fields.
 */
final class RequestScripts {

  /** A script's answer: recorded. */
  static final long DONE = 1;
  /** The request has ended: nothing was written. */
  static final long ENDED = 0;
  /** The view is behind (or ahead of) Redis: nothing was written; rebuild it. */
  static final long STALE = -1;
  /** The request's state is gone from Redis: nothing was written. */
  static final long GONE = -2;

  private RequestScripts() {
  }

  /** One call of a script: its keys and arguments, in the order the script reads them. */
  interface Call {

    RedisScript<Long> script();

    List<String> keys();

    List<String> argv();

    /** Runs the script; null when Redis gave no answer. */
    default Long run(StringRedisTemplate redis) {
      return redis.execute(script(), keys(), argv().toArray());
    }
  }

  private static String seconds(Duration d) {
    return Long.toString(d.toSeconds());
  }

  /**
   * Records a new request. Returns 1 when created, 0 when the request was known already.
   *
   * @param requestId the request
   * @param ttl how long its keys live while it runs
   * @param nowMillis now (epoch ms): when it started, and when its job was sent
   * @param fields the request hash's fields, as name, value pairs
   */
  record Start(String requestId, Duration ttl, long nowMillis, List<String> fields) implements Call {

    static final RedisScript<Long> SCRIPT = RedisScript.of("""
        -- KEYS[1] request: the request hash; KEYS[2] spans: the spans hash; KEYS[3] running: the running set
        -- ARGV[1] ttl: expiry of the keys (s); ARGV[2] id: the request id; ARGV[3] now: epoch ms;
        -- ARGV[4..] the request's fields, as name, value pairs
        local request, spans, running = KEYS[1], KEYS[2], KEYS[3]
        local ttl, id, now = ARGV[1], ARGV[2], ARGV[3]
        local firstField = 4
        if redis.call('HSETNX', request, 'status', 'running') == 0 then return 0 end
        for i = firstField, #ARGV, 2 do redis.call('HSET', request, ARGV[i], ARGV[i + 1]) end
        redis.call('HSET', request, 'seq', '0', 'dispatched', now)
        redis.call('EXPIRE', request, ttl)
        redis.call('HSET', spans, '0', '')
        redis.call('EXPIRE', spans, ttl)
        redis.call('ZADD', running, now, id)
        return 1
        """, Long.class);

    Start {
      Objects.requireNonNull(requestId, "requestId");
      fields = List.copyOf(fields);
    }

    @Override
    public RedisScript<Long> script() {
      return SCRIPT;
    }

    @Override
    public List<String> keys() {
      return List.of(RedisKeys.request(requestId), RedisKeys.spans(requestId), RedisKeys.RUNNING);
    }

    @Override
    public List<String> argv() {
      List<String> argv = new ArrayList<>(List.of(seconds(ttl), requestId, Long.toString(nowMillis)));
      argv.addAll(fields);
      return argv;
    }
  }

  /**
   * Records a span's new tokens and the text they release. Tokens are appended only at the index the list has
   * reached, and only when the view matches the request's {@code seq}: a crash never leaves tokens without their
   * pieces, nor streamed text without its count (which a rebuild skips), and a token is never recorded twice.
   * Returns {@link #DONE}, {@link #ENDED}, {@link #STALE} or {@link #GONE}.
   *
   * @param requestId the request
   * @param span the span
   * @param parent the span that forked it ("" for the main span)
   * @param ttl how long the request's keys live while it runs
   * @param ends whether the span ends with this call
   * @param trailing text the span releases as it ends
   * @param text text now in final order, for the output stream (may be empty)
   * @param spanEntry the span's progress as {@link OutputCodec#spanJson} writes it, or "" for none
   * @param seq the view's change count
   * @param first the index of the first new token
   * @param worker the worker that decoded the new tokens ("" when not told, or when there are none): kept as the
   *     span's worker
   * @param topic the topic the span was forked at ("" when not told)
   * @param tokens the new token ids
   * @param pieces per new token, its {@code TokenItem} as JSON
   */
  record Apply(String requestId, String span, String parent, Duration ttl, boolean ends, String trailing,
      String text, String spanEntry, long seq, int first, String worker, String topic, List<String> tokens,
      List<String> pieces) implements Call {

    static final RedisScript<Long> SCRIPT = RedisScript.of("""
        -- KEYS[1] spans: the spans hash; KEYS[2] tokens, KEYS[3] pieces: the span's lists; KEYS[4] ended: the ended
        -- hash; KEYS[5] output: the output stream; KEYS[6] request: the request hash; KEYS[7] workers: the span
        -- workers hash; KEYS[8] topics: the span topics hash
        -- ARGV[1] span; ARGV[2] parent; ARGV[3] ttl (s); ARGV[4] ends: '1' or '0'; ARGV[5] trailing: text the span
        -- releases as it ends; ARGV[6] text: text released; ARGV[7] textLength; ARGV[8] n: new tokens; ARGV[9] id:
        -- the request id; ARGV[10] spanEntry: JSON or ''; ARGV[11] seq: the view's; ARGV[12] first: the first new
        -- token's index; ARGV[13] worker: the span's worker or ''; ARGV[14] topic: its topic or ''; then n token ids
        -- and n pieces
        local spans, tokens, pieces, ended, output, request = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
        local workers, topics = KEYS[7], KEYS[8]
        local span, parent, ttl, ends, trailing = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
        local text, textLength, n, id = ARGV[6], ARGV[7], tonumber(ARGV[8]), ARGV[9]
        local spanEntry, seq, first = ARGV[10], tonumber(ARGV[11]), tonumber(ARGV[12])
        local worker, topic = ARGV[13], ARGV[14]
        local firstToken = 15
        local status = redis.call('HGET', request, 'status')
        if not status then return %1$d end
        if status == 'finished' then return %2$d end
        if tonumber(redis.call('HGET', request, 'seq') or '0') ~= seq then return %3$d end
        if n > 0 and redis.call('LLEN', tokens) ~= first then return %3$d end
        redis.call('HINCRBY', request, 'seq', 1)
        redis.call('EXPIRE', request, ttl)
        redis.call('HSETNX', spans, span, parent)
        redis.call('EXPIRE', spans, ttl)
        if worker ~= '' then
          redis.call('HSET', workers, span, worker)
          redis.call('EXPIRE', workers, ttl)
        end
        if topic ~= '' then
          redis.call('HSET', topics, span, topic)
          redis.call('EXPIRE', topics, ttl)
        end
        if n > 0 then
          for i = 0, n - 1 do redis.call('RPUSH', tokens, ARGV[firstToken + i]) end
          for i = 0, n - 1 do redis.call('RPUSH', pieces, ARGV[firstToken + n + i]) end
          redis.call('EXPIRE', tokens, ttl)
          redis.call('EXPIRE', pieces, ttl)
        end
        if ends == '1' then
          redis.call('HSET', ended, span, trailing)
          redis.call('EXPIRE', ended, ttl)
        end
        if spanEntry ~= '' then
          redis.call('XADD', output, '*', '%5$s', '%7$s', '%8$s', spanEntry)
          redis.call('EXPIRE', output, ttl)
          if text == '' then redis.call('PUBLISH', '%4$s', id) end
        end
        if text ~= '' then
          redis.call('XADD', output, '*', '%5$s', '%6$s', '%9$s', text)
          redis.call('HINCRBY', request, 'emitted', textLength)
          redis.call('EXPIRE', output, ttl)
          redis.call('PUBLISH', '%4$s', id)
        end
        return 1
        """.formatted(GONE, ENDED, STALE, RedisKeys.OUTPUT_READY, OutputCodec.TYPE, OutputCodec.TEXT_TYPE,
        OutputCodec.SPAN_TYPE, OutputCodec.SPAN, OutputCodec.TEXT), Long.class);

    Apply {
      Objects.requireNonNull(requestId, "requestId");
      Objects.requireNonNull(span, "span");
      worker = worker == null ? "" : worker;
      topic = topic == null ? "" : topic;
      tokens = List.copyOf(tokens);
      pieces = List.copyOf(pieces);
      if (tokens.size() != pieces.size()) {
        throw new IllegalArgumentException("a piece per token: " + tokens.size() + " tokens, " + pieces.size()
            + " pieces");
      }
    }

    @Override
    public RedisScript<Long> script() {
      return SCRIPT;
    }

    @Override
    public List<String> keys() {
      return List.of(RedisKeys.spans(requestId), RedisKeys.tokens(requestId, span), RedisKeys.pieces(requestId, span),
          RedisKeys.ended(requestId), RedisKeys.output(requestId), RedisKeys.request(requestId),
          RedisKeys.spanWorkers(requestId), RedisKeys.spanTopics(requestId));
    }

    @Override
    public List<String> argv() {
      List<String> argv = new ArrayList<>(List.of(span, parent, seconds(ttl), ends ? "1" : "0", trailing, text,
          Integer.toString(text.length()), Integer.toString(tokens.size()), requestId, spanEntry, Long.toString(seq),
          Integer.toString(first), worker, topic));
      argv.addAll(tokens);
      argv.addAll(pieces);
      return argv;
    }
  }

  /**
   * The final entry, once: text still held, then the {@link OutputEntry.Done} entry, and the status. A request whose
   * state is gone gets its final entry too (the reader waits for it), and a hash saying it finished, so that later
   * events of it are dropped; both expire. Returns {@link #DONE}, {@link #ENDED} (it had ended), {@link #STALE} or
   * {@link #GONE} (written, but the state was gone).
   *
   * @param requestId the request
   * @param text text still held, written before the final entry (may be empty)
   * @param seq the view's change count
   * @param finishedTtl how long the request hash and the output stream live after the end
   * @param done the final entry
   */
  record Finish(String requestId, String text, long seq, Duration finishedTtl, OutputEntry.Done done)
      implements Call {

    static final RedisScript<Long> SCRIPT = RedisScript.of("""
        -- KEYS[1] request: the request hash; KEYS[2] output: the output stream
        -- ARGV[1] text: text still held; ARGV[2] textLength; ARGV[3] id: the request id; ARGV[4] seq: the view's;
        -- ARGV[5] ttl: expiry of the finished request (s); ARGV[6..] the final entry's fields, as name, value pairs
        local request, output = KEYS[1], KEYS[2]
        local text, textLength, id, seq, ttl = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4]), ARGV[5]
        local firstField = 6
        local status = redis.call('HGET', request, 'status')
        if status == 'finished' then return %1$d end
        if status and tonumber(redis.call('HGET', request, 'seq') or '0') ~= seq then return %2$d end
        if text ~= '' then
          redis.call('XADD', output, '*', '%6$s', '%7$s', '%8$s', text)
          redis.call('HINCRBY', request, 'emitted', textLength)
        end
        local fields = {}
        for i = firstField, #ARGV do fields[#fields + 1] = ARGV[i] end
        redis.call('XADD', output, '*', unpack(fields))
        redis.call('HSET', request, 'status', 'finished')
        redis.call('HINCRBY', request, 'seq', 1)
        redis.call('EXPIRE', request, ttl)
        redis.call('EXPIRE', output, ttl)
        redis.call('PUBLISH', '%3$s', id)
        if status then return %4$d end
        return %5$d
        """.formatted(ENDED, STALE, RedisKeys.OUTPUT_READY, DONE, GONE, OutputCodec.TYPE, OutputCodec.TEXT_TYPE,
        OutputCodec.TEXT), Long.class);

    Finish {
      Objects.requireNonNull(requestId, "requestId");
      Objects.requireNonNull(done, "done");
    }

    @Override
    public RedisScript<Long> script() {
      return SCRIPT;
    }

    @Override
    public List<String> keys() {
      return List.of(RedisKeys.request(requestId), RedisKeys.output(requestId));
    }

    @Override
    public List<String> argv() {
      List<String> argv = new ArrayList<>(List.of(text, Integer.toString(text.length()), requestId,
          Long.toString(seq), seconds(finishedTtl)));
      argv.addAll(OutputCodec.encode(done));
      return argv;
    }
  }

  /**
   * Keeps an open gap where any instance finds it: its clock, and the worker's finish held behind it; only while the
   * request runs (the hash keeps its expiry). Returns 1 when kept.
   *
   * @param requestId the request
   * @param finish the worker's finish held behind the gap (JSON), or "" for none
   * @param sinceMillis when the gap was first seen (epoch ms; a clock already kept goes on)
   */
  record Hold(String requestId, String finish, long sinceMillis) implements Call {

    static final RedisScript<Long> SCRIPT = RedisScript.of("""
        -- KEYS[1] request: the request hash; KEYS[2] held: the set of held gaps
        -- ARGV[1] id: the request id; ARGV[2] finish: the finish (JSON) or ''; ARGV[3] since: epoch ms
        local request, held = KEYS[1], KEYS[2]
        local id, finish, since = ARGV[1], ARGV[2], ARGV[3]
        if redis.call('HGET', request, 'status') ~= 'running' then return 0 end
        if finish ~= '' then redis.call('HSET', request, 'gapFinish', finish) end
        redis.call('HSETNX', request, 'gapSince', since)
        redis.call('ZADD', held, 'NX', redis.call('HGET', request, 'gapSince'), id)
        return 1
        """, Long.class);

    @Override
    public RedisScript<Long> script() {
      return SCRIPT;
    }

    @Override
    public List<String> keys() {
      return List.of(RedisKeys.request(requestId), RecordedRequests.HELD);
    }

    @Override
    public List<String> argv() {
      return List.of(requestId, finish, Long.toString(sinceMillis));
    }
  }

  /**
   * Records that a request whose gap outlived its bound is sent to the workers again — unless another instance did so
   * within the bound. Returns 1 when this instance sends it, 0 when another one did, -1 when no gap is kept for it (it
   * filled elsewhere) or the request no longer runs.
   *
   * @param requestId the request
   * @param boundStartMillis the bound's start (epoch ms): a mark newer than it is another instance's
   * @param nowMillis now (epoch ms)
   * @param missing what is missing, for the logs of whoever looks next
   */
  record Redispatch(String requestId, long boundStartMillis, long nowMillis, String missing) implements Call {

    static final RedisScript<Long> SCRIPT = RedisScript.of("""
        -- KEYS[1] request: the request hash; KEYS[2] held: the set of held gaps
        -- ARGV[1] id: the request id; ARGV[2] boundStart: epoch ms; ARGV[3] now: epoch ms; ARGV[4] missing
        local request, held = KEYS[1], KEYS[2]
        local id, boundStart, now, missing = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4]
        if redis.call('HGET', request, 'status') ~= 'running' then return -1 end
        local since = redis.call('ZSCORE', held, id)
        if not since then return -1 end
        if tonumber(since) > boundStart then return 0 end
        redis.call('HDEL', request, 'gapFinish')
        redis.call('HSET', request, 'gapSince', now, 'gapRedispatched', '1', 'gapMissing', missing)
        redis.call('ZADD', held, now, id)
        return 1
        """, Long.class);

    @Override
    public RedisScript<Long> script() {
      return SCRIPT;
    }

    @Override
    public List<String> keys() {
      return List.of(RedisKeys.request(requestId), RecordedRequests.HELD);
    }

    @Override
    public List<String> argv() {
      return List.of(requestId, Long.toString(boundStartMillis), Long.toString(nowMillis), missing);
    }
  }
}
