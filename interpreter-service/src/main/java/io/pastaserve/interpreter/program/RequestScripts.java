package io.pastaserve.interpreter.program;

import io.pastaserve.common.messaging.RedisKeys;
import org.springframework.data.redis.core.script.RedisScript;

/**
 * The Lua scripts through which an interpreter writes a request's state, each atomic. Every key a script writes gets
 * an expiry in the same script, so no key outlives its request even when the state it extends was lost (a Redis
 * restarted without persistence). The request hash's {@code seq} counts recorded changes: an instance writes only
 * when its view of the request matches that count, so two instances briefly reading one partition (a rebalance)
 * never record a token twice nor stream text twice — the one behind rebuilds its view and tries again.
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

  /**
   * Records a new request. KEYS: request hash, spans hash, running set; ARGV: TTL (s), request id, now (epoch ms),
   * then the request's fields as name, value pairs. Returns 1 when created, 0 when the request was known already.
   */
  static final RedisScript<Long> START = RedisScript.of("""
      if redis.call('HSETNX', KEYS[1], 'status', 'running') == 0 then return 0 end
      for i = 4, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
      redis.call('HSET', KEYS[1], 'seq', '0', 'dispatched', ARGV[3])
      redis.call('EXPIRE', KEYS[1], ARGV[1])
      redis.call('HSET', KEYS[2], '0', '')
      redis.call('EXPIRE', KEYS[2], ARGV[1])
      redis.call('ZADD', KEYS[3], ARGV[3], ARGV[2])
      return 1
      """, Long.class);

  /**
   * Records a span's new tokens and the text they release. KEYS: spans hash, the span's tokens and pieces lists, ended
   * hash, output stream, request hash. ARGV: 1 span, 2 parent, 3 TTL (s), 4 ends ("1"/"0"), 5 trailing text, 6 text
   * released, 7 its length, 8 n tokens, 9 request id, 10 span entry or "", 11 the view's seq, 12 the first token's
   * index, then n token ids and n pieces. Tokens are appended only at the index the list has reached, and only when
   * the view matches the request's {@code seq}: a crash never leaves tokens without their pieces, nor streamed text
   * without its count (which a rebuild skips), and a token is never recorded twice.
   */
  static final RedisScript<Long> APPLY = RedisScript.of("""
      local status = redis.call('HGET', KEYS[6], 'status')
      if not status then return %d end
      if status == 'finished' then return %d end
      if tonumber(redis.call('HGET', KEYS[6], 'seq') or '0') ~= tonumber(ARGV[11]) then return %d end
      local n = tonumber(ARGV[8])
      if n > 0 and redis.call('LLEN', KEYS[2]) ~= tonumber(ARGV[12]) then return %d end
      redis.call('HINCRBY', KEYS[6], 'seq', 1)
      redis.call('EXPIRE', KEYS[6], ARGV[3])
      redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2])
      redis.call('EXPIRE', KEYS[1], ARGV[3])
      if n > 0 then
        for i = 1, n do redis.call('RPUSH', KEYS[2], ARGV[12 + i]) end
        for i = 1, n do redis.call('RPUSH', KEYS[3], ARGV[12 + n + i]) end
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
      """.formatted(GONE, ENDED, STALE, STALE, RedisKeys.OUTPUT_READY, RedisKeys.OUTPUT_READY), Long.class);

  /**
   * The final entry, once: text still held, then {@code done}, and the status. KEYS: request hash, output stream.
   * ARGV: 1 text, 2 its length, 3 request id, 4 the view's seq, 5 TTL of the finished request (s), then the entry's
   * fields. A request whose state is gone gets its {@code done} too (the reader waits for it), and a hash saying it
   * finished, so that later events of it are dropped; both expire.
   */
  static final RedisScript<Long> FINISH = RedisScript.of("""
      local status = redis.call('HGET', KEYS[1], 'status')
      if status == 'finished' then return %d end
      if status and tonumber(redis.call('HGET', KEYS[1], 'seq') or '0') ~= tonumber(ARGV[4]) then return %d end
      if ARGV[1] ~= '' then
        redis.call('XADD', KEYS[2], '*', 'type', 'text', 'text', ARGV[1])
        redis.call('HINCRBY', KEYS[1], 'emitted', ARGV[2])
      end
      local fields = {}
      for i = 6, #ARGV do fields[#fields + 1] = ARGV[i] end
      redis.call('XADD', KEYS[2], '*', unpack(fields))
      redis.call('HSET', KEYS[1], 'status', 'finished')
      redis.call('HINCRBY', KEYS[1], 'seq', 1)
      redis.call('EXPIRE', KEYS[1], ARGV[5])
      redis.call('EXPIRE', KEYS[2], ARGV[5])
      redis.call('PUBLISH', '%s', ARGV[3])
      if status then return %d end
      return %d
      """.formatted(ENDED, STALE, RedisKeys.OUTPUT_READY, DONE, GONE), Long.class);

  /**
   * Keeps an open gap where any instance finds it: its clock, and the worker's finish held behind it. KEYS: request
   * hash, held set; ARGV: 1 request id, 2 the finish (JSON) or "", 3 when the gap was first seen (epoch ms; a clock
   * already kept goes on). Only while the request runs (the hash keeps its expiry). Returns 1 when kept.
   */
  static final RedisScript<Long> HOLD = RedisScript.of("""
      if redis.call('HGET', KEYS[1], 'status') ~= 'running' then return 0 end
      if ARGV[2] ~= '' then redis.call('HSET', KEYS[1], 'gapFinish', ARGV[2]) end
      redis.call('HSETNX', KEYS[1], 'gapSince', ARGV[3])
      redis.call('ZADD', KEYS[2], 'NX', redis.call('HGET', KEYS[1], 'gapSince'), ARGV[1])
      return 1
      """, Long.class);

  /**
   * Records that a request whose gap outlived its bound is sent to the workers again — unless another instance did so
   * within the bound. KEYS: request hash, held set; ARGV: 1 request id, 2 the bound's start (epoch ms: a mark newer
   * than it is another instance's), 3 now (epoch ms), 4 what is missing. Returns 1 when this instance sends it, 0
   * when another one did, -1 when no gap is kept for it (it filled elsewhere) or the request no longer runs.
   */
  static final RedisScript<Long> REDISPATCH = RedisScript.of("""
      if redis.call('HGET', KEYS[1], 'status') ~= 'running' then return -1 end
      local since = redis.call('ZSCORE', KEYS[2], ARGV[1])
      if not since then return -1 end
      if tonumber(since) > tonumber(ARGV[2]) then return 0 end
      redis.call('HDEL', KEYS[1], 'gapFinish')
      redis.call('HSET', KEYS[1], 'gapSince', ARGV[3], 'gapRedispatched', '1', 'gapMissing', ARGV[4])
      redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
      return 1
      """, Long.class);
}
