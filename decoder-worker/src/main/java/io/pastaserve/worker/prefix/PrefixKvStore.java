package io.pastaserve.worker.prefix;

import io.pastaserve.common.messaging.RedisKeys;
import io.pastaserve.worker.kv.KvSnapshot;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import org.springframework.data.redis.connection.RedisStringCommands.SetOption;
import org.springframework.data.redis.core.RedisCallback;
import org.springframework.data.redis.core.StringRedisTemplate;
import org.springframework.data.redis.core.types.Expiration;

/**
 * The KV of a span's prefix in Redis ({@link RedisKeys#prefixKv}), so that a worker decoding a fork of that span
 * elsewhere can start from it instead of prefilling the prefix's token ids, as LMCache shares KV through Redis.
 * A snapshot is stored in chunks of at most {@code chunkBytes} (Redis values stay small, and a read is one
 * {@code MGET}), only when it is at most {@code maxBytes}, and expires after {@code ttl}: the token ids, which the
 * interpreter keeps for as long as the request runs, remain the way to rebuild a prefix when its KV is missing.
 * The chunks are written before the key that counts them, so a reader finds either every chunk or nothing.
 * Blocking (Redis round trips): not for the scheduler's thread.
 */
public final class PrefixKvStore {

  private final StringRedisTemplate redis;
  private final int chunkBytes;
  private final long maxBytes;
  private final Duration ttl;

  public PrefixKvStore(StringRedisTemplate redis, int chunkBytes, long maxBytes, Duration ttl) {
    if (chunkBytes <= 0 || maxBytes < 0 || ttl.isNegative() || ttl.isZero()) {
      throw new IllegalArgumentException("chunk bytes and the time to live must be positive, the cap not negative");
    }
    this.redis = redis;
    this.chunkBytes = chunkBytes;
    this.maxBytes = maxBytes;
    this.ttl = ttl;
  }

  /** Stores {@code snapshot} under {@code key}; false (and nothing stored) when it is larger than the cap. */
  public boolean put(String key, KvSnapshot snapshot) {
    if (snapshot.byteSize() > maxBytes) {
      return false;
    }
    byte[] all = snapshot.encode();
    int chunks = Math.max(1, (all.length + chunkBytes - 1) / chunkBytes);
    Expiration expiry = Expiration.milliseconds(ttl.toMillis());
    redis.executePipelined((RedisCallback<Object>) connection -> {
      for (int i = 0; i < chunks; i++) {
        byte[] chunk = Arrays.copyOfRange(all, i * chunkBytes, Math.min(all.length, (i + 1) * chunkBytes));
        connection.stringCommands().set(bytes(chunkKey(key, i)), chunk, expiry, SetOption.upsert());
      }
      connection.stringCommands().set(bytes(key), bytes(Integer.toString(chunks)), expiry, SetOption.upsert());
      return null;
    });
    return true;
  }

  /** The snapshot under {@code key}; empty when it was never stored, has expired, or a chunk is gone. */
  public Optional<KvSnapshot> get(String key) {
    String count = redis.opsForValue().get(key);
    if (count == null) {
      return Optional.empty();
    }
    int chunks = Integer.parseInt(count);
    byte[][] keys = new byte[chunks][];
    for (int i = 0; i < chunks; i++) {
      keys[i] = bytes(chunkKey(key, i));
    }
    List<byte[]> parts = redis.execute((RedisCallback<List<byte[]>>) c -> c.stringCommands().mGet(keys));
    if (parts == null || parts.size() != chunks || parts.contains(null)) {
      return Optional.empty();
    }
    int length = parts.stream().mapToInt(p -> p.length).sum();
    byte[] all = new byte[length];
    int at = 0;
    for (byte[] p : parts) {
      System.arraycopy(p, 0, all, at, p.length);
      at += p.length;
    }
    return Optional.of(KvSnapshot.decode(all));
  }

  /** Removes the snapshot under {@code key}, if any (its owner's end; the time to live is the backstop). */
  public void delete(String key) {
    String count = redis.opsForValue().get(key);
    List<String> keys = new ArrayList<>(List.of(key));
    for (int i = 0; count != null && i < Integer.parseInt(count); i++) {
      keys.add(chunkKey(key, i));
    }
    redis.delete(keys);
  }

  private static String chunkKey(String key, int i) {
    return key + ":" + i;
  }

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }
}
