package io.pastaserve.common.messaging;

import java.util.List;
import java.util.Objects;

/**
 * Who runs a request: the {@code worker} field of its {@link RedisKeys#request} hash — a worker's id, or empty while
 * the request's job waits in Kafka. Workers claim requests and interpreters release those of gone workers with the
 * same compare-and-set, {@link #SWAP_SCRIPT}, so of several that race for one request exactly one wins.
 */
public final class RequestOwner {

  /** The field of the request hash that names the owner. */
  public static final String FIELD = "worker";

  /**
   * Lua, called with the {@link Swap#keys} and {@link Swap#argv} of a {@link Swap}: sets the owner and returns 1 when
   * the request runs and its owner is the one expected; 0 when another owns it; -1 when it does not run (ended, or its
   * state is gone).
   */
  public static final String SWAP_SCRIPT = """
      -- KEYS[1] request: the request hash
      -- ARGV[1] expected: the owner expected ('' for none); ARGV[2] owner: the new one ('' for none)
      local request = KEYS[1]
      local expected, owner = ARGV[1], ARGV[2]
      if redis.call('HGET', request, 'status') ~= 'running' then return -1 end
      if (redis.call('HGET', request, '%1$s') or '') ~= expected then return 0 end
      redis.call('HSET', request, '%1$s', owner)
      return 1
      """.formatted(FIELD);

  private RequestOwner() {
  }

  /**
   * One call of {@link #SWAP_SCRIPT}.
   *
   * @param requestId the request
   * @param expected the owner expected ("" for none)
   * @param owner the new owner ("" for none)
   */
  public record Swap(String requestId, String expected, String owner) {

    public Swap {
      Objects.requireNonNull(requestId, "requestId");
      Objects.requireNonNull(expected, "expected");
      Objects.requireNonNull(owner, "owner");
    }

    /** The script's KEYS. */
    public List<String> keys() {
      return List.of(RedisKeys.request(requestId));
    }

    /** The script's ARGV. */
    public Object[] argv() {
      return new Object[] {expected, owner};
    }
  }
}
