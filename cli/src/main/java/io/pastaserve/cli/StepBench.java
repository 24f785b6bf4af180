package io.pastaserve.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.pastaserve.worker.kv.KvBlock;
import io.pastaserve.worker.model.ModelConfig;
import io.pastaserve.worker.model.ModelRunner;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * The model's own cost on its device: ms per decode step of {@code b} rows over a past of {@code p} columns (the
 * same past every step, so each step is measured at exactly {@code p}), logits back on the host included. With a
 * {@code parity.bin} beside the model (docs/model-contract.md), the runner's logits against PyTorch's first; and
 * whether a row's logits depend on the rest of its batch ({@link #invariance}).
 */
final class StepBench {

  record Row(int batch, int past, double ms) {
  }

  /** The runner's logits against PyTorch's on the parity case: the largest difference, argmax agreement. */
  record Parity(int positions, double maxAbsDiff, int argmaxAgree) {
  }

  private final ModelRunner runner;
  private final int steps;

  StepBench(ModelRunner runner, int steps) {
    this.runner = runner;
    this.steps = steps;
  }

  List<Row> run(int[] batches, int[] pasts) {
    List<Row> rows = new ArrayList<>();
    for (int p : pasts) {
      for (int b : batches) {
        rows.add(new Row(b, p, stepMs(b, p)));
      }
    }
    return rows;
  }

  /** ms per decode step of {@code b} rows at past {@code p}: the best of three rounds of {@code steps} steps. */
  private double stepMs(int b, int p) {
    int[] lengths = new int[b];
    Arrays.fill(lengths, p);
    Batch batch = new Batch(lengths, p);
    long[] next = new long[b];
    long[] nextPos = new long[b];
    int vocab = runner.config().vocabSize();
    for (int r = 0; r < b; r++) {
      next[r] = 4 + r % (vocab - 4);
      nextPos[r] = p;
    }
    for (int w = 0; w < 3; w++) {
      batch.step(next, nextPos);
    }
    double best = Double.MAX_VALUE;
    for (int round = 0; round < 3; round++) {
      long t0 = System.nanoTime();
      for (int s = 0; s < steps; s++) {
        FloatBuffer logits = batch.step(next, nextPos);
        next[0] = 4 + Math.floorMod((long) Float.floatToRawIntBits(logits.get(0)), vocab - 4);
      }
      best = Math.min(best, (System.nanoTime() - t0) / 1e6 / steps);
    }
    return best;
  }

  /** Whether a row's logits depend on the rest of its batch: alone against beside rows of other lengths. */
  record Invariance(int batch, int past, double maxAbsDiff) {
  }

  /**
   * The logits of one row (past {@code p}, then one token) decoded alone, and in a batch of {@code b} rows whose
   * other rows have other lengths; their largest difference (0: the row's arithmetic does not depend on its
   * neighbours). Alone is a batch of one for the contract's graph, and a batch of {@code b} slots whose other slots
   * are empty for a static-cache model (whose passes always have all their slots).
   */
  Invariance invariance(int b, int p) {
    int vocab = runner.config().vocabSize();
    int[] alone = new int[runner.config().staticCache() ? b : 1];
    alone[0] = p;
    int[] mixed = new int[b];
    for (int r = 0; r < b; r++) {
      mixed[r] = r == 0 ? p : 1 + (r * 37) % (2 * p);
    }
    // both batches' pasts come from one prefill of the same length, so only the decode step can tell them apart
    int prefill = Arrays.stream(mixed).max().orElse(p);
    float[] a = row0(new Batch(alone, prefill), p, vocab);
    float[] m = row0(new Batch(mixed, prefill), p, vocab);
    double diff = 0;
    for (int k = 0; k < vocab; k++) {
      diff = Math.max(diff, Math.abs(a[k] - m[k]));
    }
    return new Invariance(b, p, diff);
  }

  private static float[] row0(Batch batch, int p, int vocab) {
    int b = batch.lengths.length;
    long[] next = new long[b];
    long[] pos = new long[b];
    for (int r = 0; r < b; r++) {
      next[r] = 4 + (r * 131) % (vocab - 4);
      pos[r] = batch.lengths[r];
    }
    float[] out = new float[vocab];
    batch.step(next, pos).get(0, out);
    return out;
  }

  /**
   * Rows whose pasts are prefixes of one token sequence ({@code lengths[r]} tokens of a prefill of {@code prefill}),
   * laid out as the runner's model wants them: right-aligned in a block as wide as the longest for the contract's
   * graph, left-aligned in slots of the model's context for a static-cache model. A step feeds one token to every row
   * without keeping it, so every step runs on the same past.
   */
  private final class Batch {
    final int[] lengths;
    final KvBlock past;
    final KvBlock present;
    final int pastColumns;
    final long[] mask;

    Batch(int[] lengths, int prefill) {
      this.lengths = lengths;
      ModelConfig cfg = runner.config();
      boolean slots = cfg.staticCache();
      int b = lengths.length;
      int longest = Arrays.stream(lengths).max().orElse(0);
      if (prefill < longest) {
        throw new IllegalArgumentException("a prefill of " + prefill + " tokens for a row of " + longest);
      }
      long[] ids = new long[prefill];
      long[] pos = new long[prefill];
      long[] ones = new long[prefill];
      for (int i = 0; i < prefill; i++) {
        ids[i] = 4 + (i * 7919L) % (cfg.vocabSize() - 4);
        pos[i] = i;
        ones[i] = 1;
      }
      KvBlock one = runner.newKvBlock();
      if (slots) {
        one.reshape(1, Math.max(prefill, 1));
        runner.forward(1, prefill, ids, pos, ones, 0, one, one);
      } else {
        KvBlock empty = runner.newKvBlock();
        empty.reshape(1, 0);
        runner.forward(1, prefill, ids, pos, ones, empty, one);
      }
      past = runner.newKvBlock();
      past.reshape(b, slots ? cfg.maxPositions() : longest);
      for (int r = 0; r < b; r++) {
        KvBlock.copyColumns(one, 0, 0, past, r, slots ? 0 : longest - lengths[r], lengths[r]);
      }
      present = slots ? past : runner.newKvBlock();
      pastColumns = longest;
      mask = new long[b * (longest + 1)];
      for (int r = 0; r < b; r++) {
        Arrays.fill(mask, r * (longest + 1) + longest - lengths[r], (r + 1) * (longest + 1), 1L);
      }
    }

    FloatBuffer step(long[] next, long[] positions) {
      return runner.forward(lengths.length, 1, next, positions, mask, pastColumns, past, present);
    }
  }

  /** Runs the parity case of {@code parity.bin}, or returns null when the model has none. */
  Parity parity() throws IOException {
    Path file = runner.dir().resolve("parity.bin");
    if (!Files.isRegularFile(file)) {
      return null;
    }
    try (InputStream in = Files.newInputStream(file)) {
      ByteBuffer all = ByteBuffer.wrap(in.readAllBytes()).order(ByteOrder.LITTLE_ENDIAN);
      if (all.getInt() != 0x59545250 || all.getInt() != 1) {
        throw new IOException(file + " is not a version 1 parity file");
      }
      int b = all.getInt();
      int s = all.getInt();
      int v = all.getInt();
      if (v != runner.config().vocabSize()) {
        throw new IOException(file + " has vocab " + v + ", the model " + runner.config().vocabSize());
      }
      long[] ids = new long[b * s];
      long[] pos = new long[b * s];
      for (int i = 0; i < b * s; i++) {
        ids[i] = all.getLong();
      }
      for (int i = 0; i < b * s; i++) {
        pos[i] = all.getLong();
      }
      long[] mask = new long[b * s];
      Arrays.fill(mask, 1L);
      KvBlock past = runner.newKvBlock();
      FloatBuffer logits;
      if (runner.config().staticCache()) {
        past.reshape(b, s);
        logits = runner.forward(b, s, ids, pos, mask, 0, past, past);
      } else {
        past.reshape(b, 0);
        logits = runner.forward(b, s, ids, pos, mask, past, runner.newKvBlock());
      }
      double maxDiff = 0;
      int agree = 0;
      for (int t = 0; t < b * s; t++) {
        int ours = 0;
        int theirs = 0;
        float oursBest = Float.NEGATIVE_INFINITY;
        float theirsBest = Float.NEGATIVE_INFINITY;
        for (int k = 0; k < v; k++) {
          float a = logits.get(t * v + k);
          float e = all.getFloat();
          maxDiff = Math.max(maxDiff, Math.abs(a - e));
          if (a > oursBest) {
            oursBest = a;
            ours = k;
          }
          if (e > theirsBest) {
            theirsBest = e;
            theirs = k;
          }
        }
        agree += ours == theirs ? 1 : 0;
      }
      return new Parity(b * s, maxDiff, agree);
    }
  }

  static String table(String label, List<Row> rows, Parity parity, List<Invariance> invariance) {
    StringBuilder sb = new StringBuilder();
    for (Invariance v : invariance) {
      sb.append(String.format(Locale.ROOT, "%s past %4d batch %4d: a row alone against beside rows of other lengths:"
          + " max |logit diff| %.3g%s%n", label, v.past(), v.batch(), v.maxAbsDiff(),
          v.maxAbsDiff() == 0 ? " (bit for bit the same)" : ""));
    }
    if (parity != null) {
      sb.append(String.format(Locale.ROOT, "%s parity against PyTorch fp32: max |diff| %.3g, argmax %d/%d%n",
          label, parity.maxAbsDiff(), parity.argmaxAgree(), parity.positions()));
    }
    for (Row r : rows) {
      sb.append(String.format(Locale.ROOT, "%s past %4d batch %4d: %8.3f ms/step%n", label, r.past(), r.batch(),
          r.ms()));
    }
    return sb.toString().stripTrailing();
  }

  static String json(String label, ModelRunner runner, List<Row> rows, Parity parity, List<Invariance> invariance) {
    ObjectMapper mapper = new ObjectMapper();
    ObjectNode root = mapper.createObjectNode();
    root.put("label", label);
    root.put("model", runner.dir().toString());
    root.put("dtype", runner.config().kvDtype());
    root.put("device", runner.device());
    if (parity != null) {
      ObjectNode p = root.putObject("parity");
      p.put("positions", parity.positions());
      p.put("max_abs_diff", parity.maxAbsDiff());
      p.put("argmax_agree", parity.argmaxAgree());
    }
    ArrayNode inv = root.putArray("invariance");
    for (Invariance v : invariance) {
      inv.addObject().put("batch", v.batch()).put("past", v.past()).put("max_abs_diff", v.maxAbsDiff());
    }
    root.put("cache", runner.config().staticCache() ? "static" : "dynamic");
    ArrayNode array = root.putArray("steps");
    for (Row r : rows) {
      array.addObject().put("batch", r.batch()).put("past", r.past()).put("ms", r.ms());
    }
    return root.toString();
  }
}
