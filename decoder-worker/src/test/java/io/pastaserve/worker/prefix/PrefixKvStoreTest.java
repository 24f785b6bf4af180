package io.pastaserve.worker.prefix;

import static java.lang.foreign.ValueLayout.JAVA_SHORT;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.pastaserve.common.messaging.RedisKeys;
import io.pastaserve.testing.RedisTestClient;
import io.pastaserve.worker.kv.HostMemory;
import io.pastaserve.worker.kv.KvBlock;
import io.pastaserve.worker.kv.KvSnapshot;
import java.lang.foreign.MemorySegment;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A span prefix's KV through a real Redis: a block's columns snapshotted, stored in chunks, read back and restored
 * into another block at another row give the same keys and values; over the cap nothing is stored; it expires.
 */
class PrefixKvStoreTest {

  static final int LAYERS = 3;
  static final int HEADS = 2;
  static final int DIM = 8;
  static RedisTestClient redis;

  @BeforeAll
  static void start() throws Exception {
    redis = RedisTestClient.start();
  }

  @AfterAll
  static void stop() {
    redis.close();
  }

  @Test
  void aSnapshotStoredInChunks_comesBack_andRestoresTheSameColumnsElsewhere() {
    KvBlock src = block(3, 40);
    fill(src);
    KvSnapshot prefix = src.snapshot(1, 5, 30);
    PrefixKvStore store = new PrefixKvStore(redis.template(), 1000, 1 << 20, Duration.ofMinutes(1));
    String key = RedisKeys.prefixKv("r1", "0", 30);

    assertThat(store.put(key, prefix)).isTrue();
    KvSnapshot back = store.get(key).orElseThrow();
    KvBlock dst = block(2, 64);
    dst.restore(back, 1, 0);

    assertThat(back.columns()).isEqualTo(30);
    assertThat(prefix.byteSize()).as("bytes, more than one chunk").isGreaterThan(1000);
    for (int l = 0; l < LAYERS; l++) {
      for (int kv = 0; kv < 2; kv++) {
        for (int h = 0; h < HEADS; h++) {
          for (int c = 0; c < 30; c++) {
            for (int i = 0; i < DIM; i++) {
              assertThat(at(dst, l, kv, 1, h, c, i)).as("layer %d kv %d head %d column %d", l, kv, h, c)
                  .isEqualTo(at(src, l, kv, 1, h, 5 + c, i));
            }
          }
        }
      }
    }
    store.delete(key);
    assertThat(store.get(key)).isEmpty();
  }

  @Test
  void aSnapshotOverTheCap_isNotStored() {
    KvBlock src = block(1, 16);
    PrefixKvStore store = new PrefixKvStore(redis.template(), 1000, 100, Duration.ofMinutes(1));
    String key = RedisKeys.prefixKv("r2", "0", 16);
    assertThat(store.put(key, src.snapshot(0, 0, 16))).isFalse();
    assertThat(store.get(key)).isEmpty();
    assertThat(redis.template().keys(key + "*")).isEmpty();
  }

  @Test
  void aSnapshot_expires() {
    KvBlock src = block(1, 16);
    PrefixKvStore store = new PrefixKvStore(redis.template(), 64, 1 << 20, Duration.ofMillis(300));
    String key = RedisKeys.prefixKv("r3", "0", 16);
    assertThat(store.put(key, src.snapshot(0, 0, 16))).isTrue();
    assertThat(redis.template().keys(key + "*")).hasSizeGreaterThan(2);
    await().atMost(Duration.ofSeconds(10)).until(() -> redis.template().keys(key + "*").isEmpty());
    assertThat(store.get(key)).isEmpty();
  }

  @Test
  void aChunkGone_readsAsNothing() {
    KvBlock src = block(1, 16);
    PrefixKvStore store = new PrefixKvStore(redis.template(), 64, 1 << 20, Duration.ofMinutes(1));
    String key = RedisKeys.prefixKv("r4", "0", 16);
    store.put(key, src.snapshot(0, 0, 16));
    redis.template().delete(key + ":1");
    assertThat(store.get(key)).isEmpty();
  }

  private static KvBlock block(int rows, int columns) {
    KvBlock b = new KvBlock(LAYERS, HEADS, DIM, 2, HostMemory.INSTANCE);
    b.reshape(rows, columns);
    return b;
  }

  private static void fill(KvBlock b) {
    for (int l = 0; l < LAYERS; l++) {
      for (int kv = 0; kv < 2; kv++) {
        MemorySegment s = b.segment(l, kv);
        for (long i = 0; i < s.byteSize() / 2; i++) {
          s.setAtIndex(JAVA_SHORT, i, (short) (l * 7919 + kv * 4001 + i));
        }
      }
    }
  }

  private static short at(KvBlock b, int l, int kv, int row, int h, int c, int i) {
    return b.segment(l, kv).getAtIndex(JAVA_SHORT, (((long) row * HEADS + h) * b.columns() + c) * DIM + i);
  }
}
