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
 * {@code parity.bin} beside the model (docs/model-contract.md), the runner's logits against PyTorch's first.
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
    ModelConfig cfg = runner.config();
    KvBlock empty = runner.newKvBlock();
    empty.reshape(1, 0);
    KvBlock one = runner.newKvBlock();
    long[] ids = new long[p];
    long[] pos = new long[p];
    long[] mask = new long[p];
    for (int i = 0; i < p; i++) {
      ids[i] = 4 + (i * 7919L) % (cfg.vocabSize() - 4);
      pos[i] = i;
      mask[i] = 1;
    }
    runner.forward(1, p, ids, pos, mask, empty, one);
    KvBlock past = runner.newKvBlock();
    past.reshape(b, p);
    for (int r = 0; r < b; r++) {
      KvBlock.copyColumns(one, 0, 0, past, r, 0, p);
    }
    KvBlock present = runner.newKvBlock();
    long[] next = new long[b];
    long[] nextPos = new long[b];
    long[] nextMask = new long[b * (p + 1)];
    Arrays.fill(nextMask, 1L);
    for (int r = 0; r < b; r++) {
      next[r] = 4 + r % (cfg.vocabSize() - 4);
      nextPos[r] = p;
    }
    for (int w = 0; w < 3; w++) {
      runner.forward(b, 1, next, nextPos, nextMask, past, present);
    }
    double best = Double.MAX_VALUE;
    for (int round = 0; round < 3; round++) {
      long t0 = System.nanoTime();
      for (int s = 0; s < steps; s++) {
        FloatBuffer logits = runner.forward(b, 1, next, nextPos, nextMask, past, present);
        next[0] = 4 + Math.floorMod((long) Float.floatToRawIntBits(logits.get(0)), cfg.vocabSize() - 4);
      }
      best = Math.min(best, (System.nanoTime() - t0) / 1e6 / steps);
    }
    return best;
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
      KvBlock empty = runner.newKvBlock();
      empty.reshape(b, 0);
      FloatBuffer logits = runner.forward(b, s, ids, pos, mask, empty, runner.newKvBlock());
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

  static String table(String label, List<Row> rows, Parity parity) {
    StringBuilder sb = new StringBuilder();
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

  static String json(String label, ModelRunner runner, List<Row> rows, Parity parity) {
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
    ArrayNode array = root.putArray("steps");
    for (Row r : rows) {
      array.addObject().put("batch", r.batch()).put("past", r.past()).put("ms", r.ms());
    }
    return root.toString();
  }
}
