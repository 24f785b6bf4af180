package io.pastaserve.cli;

import io.pastaserve.common.messaging.RedisKeys;
import io.pastaserve.worker.kv.KvBlock;
import io.pastaserve.worker.kv.KvSnapshot;
import io.pastaserve.worker.model.ModelConfig;
import io.pastaserve.worker.model.ModelRunner;
import io.pastaserve.worker.prefix.PrefixKvStore;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.springframework.data.redis.core.StringRedisTemplate;

/**
 * How a worker can get a span's prefix that another worker decoded: prefill its token ids, or take its KV from
 * Redis ({@link PrefixKvStore}). For each prefix length: ms to prefill it, ms for the worker that has it to
 * snapshot its columns and store them, and ms for the other to load and restore them into a block; best of
 * {@code repeat}.
 */
final class PrefixKvBench {

  /** One prefix length's costs, in ms; {@code bytes} of KV. */
  record Row(int tokens, long bytes, double prefillMs, double storeMs, double loadMs) {
  }

  private final ModelRunner runner;
  private final PrefixKvStore store;
  private final int repeat;

  PrefixKvBench(ModelRunner runner, StringRedisTemplate redis, int repeat) {
    this.runner = runner;
    this.store = new PrefixKvStore(redis, 1 << 20, Long.MAX_VALUE, Duration.ofMinutes(1));
    this.repeat = repeat;
  }

  List<Row> run(int[] lengths) {
    List<Row> rows = new ArrayList<>();
    for (int n : lengths) {
      rows.add(row(n));
    }
    return rows;
  }

  private Row row(int n) {
    ModelConfig cfg = runner.config();
    boolean slots = cfg.staticCache();
    long[] ids = new long[n];
    long[] pos = new long[n];
    long[] ones = new long[n];
    for (int i = 0; i < n; i++) {
      ids[i] = 4 + (i * 7919L) % (cfg.vocabSize() - 4);
      pos[i] = i;
      ones[i] = 1;
    }
    int columns = slots ? cfg.maxPositions() : n;
    KvBlock past = runner.newKvBlock();
    KvBlock present = slots ? past : runner.newKvBlock();
    KvBlock target = runner.newKvBlock();
    target.reshape(1, columns);
    String key = RedisKeys.prefixKv("bench", "0", n);
    double prefill = Double.MAX_VALUE;
    double stored = Double.MAX_VALUE;
    double loaded = Double.MAX_VALUE;
    long bytes = 0;
    for (int k = 0; k < repeat + 1; k++) {
      past.reshape(1, slots ? columns : 0);
      long t0 = System.nanoTime();
      if (slots) {
        runner.forward(1, n, ids, pos, ones, 0, past, present);
      } else {
        runner.forward(1, n, ids, pos, ones, past, present);
      }
      long t1 = System.nanoTime();
      KvSnapshot snapshot = present.snapshot(0, 0, n);
      store.put(key, snapshot);
      long t2 = System.nanoTime();
      KvSnapshot back = store.get(key).orElseThrow(() -> new IllegalStateException("the snapshot is gone"));
      target.restore(back, 0, 0);
      long t3 = System.nanoTime();
      bytes = snapshot.byteSize();
      if (k > 0) { // the first round warms up
        prefill = Math.min(prefill, (t1 - t0) / 1e6);
        stored = Math.min(stored, (t2 - t1) / 1e6);
        loaded = Math.min(loaded, (t3 - t2) / 1e6);
      }
    }
    store.delete(key);
    return new Row(n, bytes, prefill, stored, loaded);
  }

  static String table(String label, List<Row> rows) {
    StringBuilder sb = new StringBuilder(String.format(Locale.ROOT,
        "%s: a prefix by prefill or from Redis (best of the rounds)%n%8s %10s %11s %16s %16s%n", label, "tokens",
        "KV bytes", "prefill ms", "snapshot+put ms", "get+restore ms"));
    for (Row r : rows) {
      sb.append(String.format(Locale.ROOT, "%8d %10d %11.2f %16.2f %16.2f%n", r.tokens(), r.bytes(), r.prefillMs(),
          r.storeMs(), r.loadMs()));
    }
    return sb.toString().stripTrailing();
  }
}
