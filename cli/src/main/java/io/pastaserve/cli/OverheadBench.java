package io.pastaserve.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.pastaserve.common.request.Mode;
import io.pastaserve.worker.engine.Engine;
import io.pastaserve.worker.engine.EngineConfig;
import io.pastaserve.worker.engine.GenerationRequest;
import io.pastaserve.worker.kv.KvBlock;
import io.pastaserve.worker.model.ModelConfig;
import io.pastaserve.worker.model.ModelRunner;
import java.io.IOException;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * The engine's own cost, side by side with a bare loop of the same runner on the same model and inputs: ms per decode
 * step at each batch size, and the cost of forks and joins in decode steps.
 */
final class OverheadBench {

  /** ms per step: the bare loop's, the engine's, and of the engine's the forward pass alone. */
  record BatchRow(int batch, double bareMs, double engineMs, double engineForwardMs) {
    double overhead() {
      return engineMs / bareMs - 1;
    }
  }

  record EventCost(double forkSteps, int forks, double joinSteps, int joins) {
  }

  /** The engine's batch limit here: a static-cache model's passes run this many slots, in the bare loop too. */
  private static final int ENGINE_ROWS = 64;

  private final ModelRunner runner;
  private final int steps;
  private final int rounds;

  OverheadBench(ModelRunner runner, int steps, int rounds) {
    this.runner = runner;
    this.steps = steps;
    this.rounds = rounds;
  }

  List<BatchRow> batches(int[] sizes) {
    String text = plainText(steps);
    List<BatchRow> rows = new ArrayList<>();
    try (Engine engine = new Engine(runner, EngineConfig.defaults().withMaxBatch(ENGINE_ROWS))) {
      // warm both paths
      bareLoop(4, 16);
      engineRun(engine, 4, text);
      for (int b : sizes) {
        double bare = Double.MAX_VALUE;
        double eng = Double.MAX_VALUE;
        double forward = 0;
        for (int k = 0; k < rounds; k++) {
          // alternate, keep the best of each: the least disturbed measurement
          bare = Math.min(bare, bareLoop(b, steps));
          double[] run = engineRun(engine, b, text);
          if (run[0] < eng) {
            eng = run[0];
            forward = run[1];
          }
        }
        rows.add(new BatchRow(b, bare, eng, forward));
      }
    }
    return rows;
  }

  /** Fork and join cost, in decode steps, while replaying {@code transcripts} in async mode. */
  EventCost forkJoin(List<String[]> transcripts) {
    try (Engine engine = new Engine(runner, EngineConfig.defaults())) {
      for (String[] t : transcripts) {
        engine.generate(GenerationRequest.replay("w", t[0], t[1], Mode.ASYNC));
      }
      engine.profile(true);
      int n = 0;
      for (int k = 0; k < rounds; k++) {
        for (String[] t : transcripts) {
          engine.generate(GenerationRequest.replay("f" + n++, t[0], t[1], Mode.ASYNC));
        }
      }
      engine.profile(false);
      List<Engine.StepProfile> profile = engine.drainProfile();
      Map<Integer, double[]> decodeByRows = new HashMap<>();
      for (Engine.StepProfile p : profile) {
        if (p.decodeRows() > 0) {
          double[] acc = decodeByRows.computeIfAbsent(p.decodeRows(), r -> new double[2]);
          acc[0] += p.decodeNanos();
          acc[1]++;
        }
      }
      double forkCost = 0;
      int forks = 0;
      double joinCost = 0;
      int joins = 0;
      for (Engine.StepProfile p : profile) {
        if (p.admissions() > 0 || p.decodeRows() == 0) {
          continue;
        }
        double[] acc = decodeByRows.get(p.decodeRows());
        double step = acc[0] / acc[1];
        double extra = (p.prefillNanos() + p.rebuildNanos()) / step;
        if (p.forks() > 0 && p.joins() == 0) {
          forkCost += extra;
          forks += p.forks();
        } else if (p.joins() > 0 && p.forks() == 0) {
          joinCost += extra;
          joins += p.joins();
        }
      }
      return new EventCost(forks == 0 ? 0 : forkCost / forks, forks, joins == 0 ? 0 : joinCost / joins, joins);
    }
  }

  /** Text of about {@code tokens} tokens with no tags. */
  private String plainText(int tokens) {
    StringBuilder sb = new StringBuilder();
    String[] words = {"the", "garden", "needs", "water", "every", "morning", "and", "some", "light", "too"};
    int i = 0;
    while (runner.tokenizer().encode(sb.toString()).length < tokens) {
      sb.append(i == 0 ? "" : " ").append(words[i % words.length]);
      i++;
    }
    return sb.toString();
  }

  /**
   * ms per decode step of {@code b} rows replaying plain text through the engine, steady state: the whole step, and
   * its forward pass.
   */
  private double[] engineRun(Engine engine, int b, String text) {
    engine.drainProfile();
    engine.profile(true);
    List<CompletableFuture<?>> all = new ArrayList<>();
    for (int i = 0; i < b; i++) {
      all.add(engine.submit(GenerationRequest.replay("o" + i, "p", text, Mode.ASYNC)));
    }
    all.forEach(CompletableFuture::join);
    engine.profile(false);
    long nanos = 0;
    long forward = 0;
    int count = 0;
    for (Engine.StepProfile p : engine.drainProfile()) {
      if (p.decodeRows() == b && p.prefillRows() == 0 && !p.rebuilt()) {
        nanos += p.totalNanos();
        forward += p.decodeNanos();
        count++;
      }
    }
    if (count == 0) {
      throw new IllegalStateException("no steady steps at batch " + b);
    }
    return new double[] {nanos / 1e6 / count, forward / 1e6 / count};
  }

  /**
   * ms per decode step of a bare loop on the same runner: prefill, then feed each step's present back as the next
   * step's past and the argmax as the next token; no engine, no spans.
   */
  private double bareLoop(int b, int n) {
    ModelConfig cfg = runner.config();
    int[] prompt = runner.tokenizer().encode(cfg.applyChatTemplate("p"));
    int p = prompt.length;
    long[] ids = new long[b * p];
    long[] pos = new long[b * p];
    long[] mask = new long[b * p];
    for (int r = 0; r < b; r++) {
      for (int i = 0; i < p; i++) {
        ids[r * p + i] = prompt[i];
        pos[r * p + i] = i;
        mask[r * p + i] = 1;
      }
    }
    // a static-cache model writes in place into slots of its context; the contract's graph, ping-pong blocks
    boolean slots = cfg.staticCache();
    KvBlock past = runner.newKvBlock();
    // the engine's static passes run all its slots: so does the bare loop, or it would be cheaper for that alone
    past.reshape(slots ? Math.max(b, ENGINE_ROWS) : b, slots ? cfg.maxPositions() : 0);
    KvBlock present = slots ? past : runner.newKvBlock();
    FloatBuffer logits = runner.forward(b, p, ids, pos, mask, 0, past, present);
    int seq = p;
    int length = p;
    long[] next = new long[b];
    long[] nextPos = new long[b];
    long[] nextMask = new long[0];
    long start = 0;
    for (int step = 0; step <= n; step++) {
      if (step == 1) {
        start = System.nanoTime();
      }
      for (int r = 0; r < b; r++) {
        int base = (r * seq + seq - 1) * cfg.vocabSize();
        int best = 0;
        for (int v = 1; v < cfg.vocabSize(); v++) {
          if (logits.get(base + v) > logits.get(base + best)) {
            best = v;
          }
        }
        next[r] = best;
        nextPos[r] = length;
      }
      if (nextMask.length < b * (length + 1)) {
        nextMask = new long[b * (length + 1) * 2];
        Arrays.fill(nextMask, 1L);
      }
      if (!slots) {
        KvBlock t = past;
        past = present;
        present = t;
      }
      logits = runner.forward(b, 1, next, nextPos, nextMask, length, past, present);
      seq = 1;
      length++;
    }
    return (System.nanoTime() - start) / 1e6 / n;
  }

  static String table(List<BatchRow> rows, EventCost cost) {
    StringBuilder sb = new StringBuilder();
    sb.append(String.format(Locale.ROOT, "%5s %12s %14s %9s %15s%n", "batch", "bare ms/step", "engine ms/step",
        "overhead", "of it, forward"));
    for (BatchRow r : rows) {
      sb.append(String.format(Locale.ROOT, "%5d %12.3f %14.3f %8.1f%% %15.3f%n", r.batch(), r.bareMs(), r.engineMs(),
          100 * r.overhead(), r.engineForwardMs()));
    }
    if (cost != null) {
      sb.append(String.format(Locale.ROOT, "fork cost %.2f decode steps (%d forks), join cost %.2f decode steps "
          + "(%d joins)", cost.forkSteps(), cost.forks(), cost.joinSteps(), cost.joins()));
    }
    return sb.toString();
  }

  static String json(List<BatchRow> rows, EventCost cost) throws IOException {
    ObjectMapper mapper = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    ObjectNode root = mapper.createObjectNode();
    ArrayNode array = root.putArray("batches");
    for (BatchRow r : rows) {
      array.addObject().put("batch", r.batch()).put("bareMsPerStep", r.bareMs()).put("engineMsPerStep", r.engineMs())
          .put("engineForwardMsPerStep", r.engineForwardMs())
          .put("overhead", r.overhead());
    }
    if (cost != null) {
      root.put("forkCostSteps", cost.forkSteps()).put("forks", cost.forks())
          .put("joinCostSteps", cost.joinSteps()).put("joins", cost.joins());
    }
    return mapper.writeValueAsString(root);
  }
}
