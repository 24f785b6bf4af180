package io.pastaserve.common.messaging;

/**
 * Who runs a request: the {@code worker} field of its {@link RedisKeys#request} hash — a worker's id, or empty while
 * the request's job waits in Kafka. Workers claim requests and interpreters release those of gone workers with the
 * same compare-and-set, {@link #SWAP_SCRIPT}, so of several that race for one request exactly one wins.
 */
public final class RequestOwner {

  /** The field of the request hash that names the owner. */
  public static final String FIELD = "worker";

  /**
   * Lua: KEYS[1] the request hash, ARGV[1] the owner expected ("" for none), ARGV[2] the new one. Sets the owner and
   * returns 1 when the request runs and its owner is the one expected; 0 when another owns it; -1 when it does not
   * run (ended, or its state is gone).
   */
  public static final String SWAP_SCRIPT = """
      if redis.call('HGET', KEYS[1], 'status') ~= 'running' then return -1 end
      local owner = redis.call('HGET', KEYS[1], 'worker') or ''
      if owner ~= ARGV[1] then return 0 end
      redis.call('HSET', KEYS[1], 'worker', ARGV[2])
      return 1
      """;

  private RequestOwner() {
  }
}
