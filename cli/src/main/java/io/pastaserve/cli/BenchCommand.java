package io.pastaserve.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.pastaserve.common.request.Mode;
import io.pastaserve.common.request.Sampling;
import io.pastaserve.worker.engine.Engine;
import io.pastaserve.worker.engine.EngineConfig;
import io.pastaserve.worker.engine.Forcing;
import io.pastaserve.worker.engine.GenerationRequest;
import io.pastaserve.worker.engine.GenerationResult;
import io.pastaserve.worker.model.ModelRunner;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;

/**
 * {@code pasta bench --prompts FILE [--model DIR] [--replay] [--repeat N] [--max-tokens N] [--json]}: every prompt
 * in both modes, alternating serial and async in one process after a warm-up; per prompt the median wall time of
 * each mode, and the geometric means.
 *
 * <p>A prompts file holds one prompt per line; with {@code --replay}, one flat transcript per line, optionally
 * preceded by its prompt and a tab. {@code \n}, {@code \t} and {@code \\} in a line stand for a newline, a tab and a
 * backslash. Empty lines and lines starting with {@code #} are skipped.
 */
final class BenchCommand {

  static final String NAME = "bench";

  private final PrintStream out;

  BenchCommand(PrintStream out) {
    this.out = out;
  }

  record Row(String prompt, long tokens, long criticalPathTokens, double idealSpeedup, double serialMs,
      double asyncMs, boolean identical, double correctedIdeal) {

    double speedup() {
      return serialMs / asyncMs;
    }
  }

  void run(List<String> args) throws UsageException, IOException {
    Set<String> valued = new HashSet<>(ModelOptions.VALUED);
    valued.addAll(Set.of("--prompts", "--repeat", "--max-tokens", "--warmup", "--batches", "--steps",
        "--concurrency", "--kafka", "--redis", "--pasts", "--label", "--invariance", "--lengths"));
    Options o = Options.parse(NAME, args, valued, Set.of("--replay", "--json", "--overhead", "--via-kafka",
        "--step-times", "--throughput", "--prefix-kv", "--remote-forks"));
    if (o.flag("--remote-forks")) {
      new RedisBenches(out).remoteForks(o);
      return;
    }
    if (o.flag("--prefix-kv")) {
      new RedisBenches(out).prefixKv(o);
      return;
    }
    if (o.flag("--throughput")) {
      throughput(o);
      return;
    }
    if (o.flag("--step-times")) {
      stepTimes(o);
      return;
    }
    if (o.flag("--overhead")) {
      overhead(o);
      return;
    }
    if (o.flag("--via-kafka")) {
      viaKafka(o);
      return;
    }
    Path file = Path.of(o.required(NAME, "--prompts"));
    int repeat = o.intValue(NAME, "--repeat", 3, 1, 1000);
    int warmup = o.intValue(NAME, "--warmup", 2, 0, 1000);
    int maxTokens = o.intValue(NAME, "--max-tokens", 2048, 1, 1 << 20);
    boolean replay = o.flag("--replay");
    List<String[]> items = readItems(file, replay);
    if (items.isEmpty()) {
      throw new UsageException(NAME + ": " + file + " holds no prompts");
    }
    List<Row> rows = new ArrayList<>();
    // decode steps by batch rows, per prompt and mode, for the ideal speedup corrected for the cost of a step
    List<long[]> serialRows = new ArrayList<>();
    List<long[]> asyncRows = new ArrayList<>();
    long[] nanosByRows = new long[1025];
    long[] stepsByRows = new long[1025];
    try (ModelRunner runner = ModelOptions.open(NAME, o);
        Engine engine = new Engine(runner, EngineConfig.defaults())) {
      int n = 0;
      for (int w = 0; w < warmup; w++) {
        for (Mode mode : Mode.values()) {
          String[] item = items.get(w % items.size());
          engine.generate(request("warm" + n++, item, mode, replay, maxTokens));
        }
      }
      engine.profile(true);
      for (String[] item : items) {
        long[] serialHistogram = new long[1025];
        long[] asyncHistogram = new long[1025];
        double[] serial = new double[repeat];
        double[] async = new double[repeat];
        String reference = null;
        GenerationResult asyncResult = null;
        boolean identical = true;
        for (int k = 0; k < repeat; k++) {
          // alternate which mode goes first, so that drift favours neither
          Mode[] order = k % 2 == 0 ? new Mode[] {Mode.SERIAL, Mode.ASYNC} : new Mode[] {Mode.ASYNC, Mode.SERIAL};
          for (Mode mode : order) {
            long t0 = System.nanoTime();
            GenerationResult r = engine.generate(request("b" + n++, item, mode, replay, maxTokens));
            double ms = (System.nanoTime() - t0) / 1e6;
            (mode == Mode.SERIAL ? serial : async)[k] = ms;
            for (Engine.StepProfile p : engine.drainProfile()) {
              int rowsInStep = Math.min(p.decodeRows(), 1024);
              if (rowsInStep > 0) {
                (mode == Mode.SERIAL ? serialHistogram : asyncHistogram)[rowsInStep]++;
                nanosByRows[rowsInStep] += p.decodeNanos();
                stepsByRows[rowsInStep]++;
              }
            }
            if (reference == null) {
              reference = r.annotated();
            } else if (!reference.equals(r.annotated())) {
              identical = false;
            }
            if (mode == Mode.ASYNC && asyncResult == null) {
              asyncResult = r;
            }
          }
        }
        serialRows.add(serialHistogram);
        asyncRows.add(asyncHistogram);
        rows.add(new Row(item[0].isEmpty() ? item[1] : item[0], asyncResult.stats().totalTokens(),
            asyncResult.stats().criticalPathTokens(), asyncResult.stats().idealSpeedup(), median(serial),
            median(async), identical, 0));
      }
    }
    for (int i = 0; i < rows.size(); i++) {
      Row r = rows.get(i);
      double serialCost = stepCost(serialRows.get(i), nanosByRows, stepsByRows);
      double asyncCost = stepCost(asyncRows.get(i), nanosByRows, stepsByRows);
      rows.set(i, new Row(r.prompt(), r.tokens(), r.criticalPathTokens(), r.idealSpeedup(), r.serialMs(),
          r.asyncMs(), r.identical(), asyncCost == 0 ? 1 : serialCost / asyncCost));
    }
    double geoSpeedup = Math.exp(rows.stream().mapToDouble(r -> Math.log(r.speedup())).average().orElse(0));
    double geoIdeal = Math.exp(rows.stream().mapToDouble(r -> Math.log(r.idealSpeedup())).average().orElse(0));
    double geoCorrected = Math.exp(rows.stream().mapToDouble(r -> Math.log(r.correctedIdeal())).average()
        .orElse(0));
    if (o.flag("--json")) {
      out.println(json(rows, geoSpeedup, geoIdeal, geoCorrected));
    } else {
      out.println(table(rows, geoSpeedup, geoIdeal, geoCorrected));
    }
  }

  /**
   * Time the decode steps of one run would take at the mean measured cost of a step of each batch size: the
   * model's own cost, without forks, joins, prefills and rebuilds.
   */
  private static double stepCost(long[] histogram, long[] nanosByRows, long[] stepsByRows) {
    double total = 0;
    for (int rows = 1; rows < histogram.length; rows++) {
      if (histogram[rows] > 0) {
        total += histogram[rows] * (double) nanosByRows[rows] / stepsByRows[rows];
      }
    }
    return total;
  }


  /** {@code --step-times}: ms per decode step by batch and past length, after the parity check when there is one. */
  private void stepTimes(Options o) throws UsageException, IOException {
    int[] batches = integers(o, "--batches", "1,4,16,64,256");
    int[] pasts = integers(o, "--pasts", "128,512");
    int steps = o.intValue(NAME, "--steps", 50, 1, 100_000);
    try (ModelRunner runner = ModelOptions.open(NAME, o)) {
      String label = o.get("--label", runner.dir().getFileName() + " " + runner.device());
      StepBench bench = new StepBench(runner, steps);
      StepBench.Parity parity = bench.parity();
      List<StepBench.Invariance> invariance = new ArrayList<>();
      for (int b : integers(o, "--invariance", "")) {
        invariance.add(bench.invariance(b, pasts[0]));
      }
      List<StepBench.Row> rows = bench.run(batches, pasts);
      out.println(o.flag("--json") ? StepBench.json(label, runner, rows, parity, invariance)
          : StepBench.table(label, rows, parity, invariance));
    }
  }

  /** {@code --throughput}: tokens/s of the in-process engine at each --concurrency level, serial and async. */
  private void throughput(Options o) throws UsageException, IOException {
    List<String> prompts = prompts(o);
    int[] levels = integers(o, "--concurrency", "1,4,16,64");
    int maxTokens = o.intValue(NAME, "--max-tokens", 2048, 1, 1 << 20);
    try (ModelRunner runner = ModelOptions.open(NAME, o)) {
      out.println(ThroughputBench.table(new ThroughputBench(runner, prompts, maxTokens).run(levels)));
    }
  }

  /** The prompts of {@code --prompts FILE} (required, at least one). */
  static List<String> prompts(Options o) throws UsageException, IOException {
    List<String> prompts = readItems(Path.of(o.required(NAME, "--prompts")), false).stream().map(i -> i[0])
        .toList();
    if (prompts.isEmpty()) {
      throw new UsageException(NAME + ": no prompts");
    }
    return prompts;
  }

  static int[] integers(Options o, String name, String fallback) throws UsageException {
    String value = o.get(name, fallback);
    if (value.isBlank()) {
      return new int[0];
    }
    try {
      return Arrays.stream(value.split(",")).mapToInt(s -> Integer.parseInt(s.trim())).toArray();
    } catch (NumberFormatException e) {
      throw new UsageException(NAME + ": " + name + " needs comma-separated integers");
    }
  }

  /** {@code --overhead}: the engine against a bare runner loop; fork and join cost on --prompts (replay). */
  private void overhead(Options o) throws UsageException, IOException {
    int[] sizes = integers(o, "--batches", "1,2,4,8,16");
    int steps = o.intValue(NAME, "--steps", 128, 8, 100_000);
    int repeat = o.intValue(NAME, "--repeat", 3, 1, 1000);
    String prompts = o.get("--prompts", null);
    List<String[]> transcripts = prompts == null ? List.of() : readItems(Path.of(prompts), true);
    try (ModelRunner runner = ModelOptions.open(NAME, o)) {
      OverheadBench bench = new OverheadBench(runner, steps, repeat);
      List<OverheadBench.BatchRow> rows = bench.batches(sizes);
      OverheadBench.EventCost cost = transcripts.isEmpty() ? null : bench.forkJoin(transcripts);
      out.println(o.flag("--json") ? OverheadBench.json(rows, cost) : OverheadBench.table(rows, cost));
    }
  }

  /**
   * {@code --via-kafka}: through a running suite ({@code bin/pasta up}) against the same engine in process.
   */
  private void viaKafka(Options o) throws UsageException, IOException {
    List<String> prompts = prompts(o);
    int repeat = o.intValue(NAME, "--repeat", 3, 1, 1000);
    int maxTokens = o.intValue(NAME, "--max-tokens", 2048, 1, 1 << 20);
    int[] levels;
    try {
      levels = Arrays.stream(o.get("--concurrency", "1,4,16").split(",")).mapToInt(x -> Integer.parseInt(x.trim()))
          .toArray();
    } catch (NumberFormatException e) {
      throw new UsageException(NAME + ": --concurrency needs comma-separated integers");
    }
    String kafka = o.get("--kafka", "127.0.0.1:" + System.getenv().getOrDefault("PASTA_KAFKA_PORT", "9092"));
    String[] redisAddress = o.get("--redis", "127.0.0.1:" + System.getenv().getOrDefault("PASTA_REDIS_PORT",
        "6379")).split(":");
    StringBuilder report = new StringBuilder();
    double[] local;
    double[] forks;
    try (ModelRunner runner = ModelOptions.open(NAME, o)) {
      local = KafkaBench.inProcess(runner, prompts, repeat, maxTokens);
      forks = KafkaBench.forkLatency(runner, prompts, maxTokens);
    }
    try (KafkaBench bench = new KafkaBench(kafka, redisAddress[0], Integer.parseInt(redisAddress[1]))) {
      bench.viaKafka(prompts.get(0), maxTokens);
      double logRatio = 0;
      report.append(KafkaBench.fmt("%-40s %12s %12s %7s%n", "prompt", "in-proc ms", "kafka ms", "ratio"));
      for (int i = 0; i < prompts.size(); i++) {
        double[] runs = new double[repeat];
        for (int k = 0; k < repeat; k++) {
          runs[k] = bench.viaKafka(prompts.get(i), maxTokens).ms();
        }
        double remote = KafkaBench.median(runs);
        logRatio += Math.log(remote / local[i]);
        String p = prompts.get(i);
        report.append(KafkaBench.fmt("%-40s %12.1f %12.1f %7.3f%n", p.length() > 40 ? p.substring(0, 37) + "..." : p,
            local[i], remote, remote / local[i]));
      }
      report.append(KafkaBench.fmt("geomean latency ratio, Kafka path / in process: %.3f%n",
          Math.exp(logRatio / prompts.size())));
      report.append(KafkaBench.fmt("promise -> fork's first token (in the engine, %d forks): p50 %.2f ms, "
          + "p99 %.2f ms%n", forks.length, KafkaBench.percentile(forks, 50), KafkaBench.percentile(forks, 99)));
      report.append(KafkaBench.fmt("%11s %10s %10s %12s %12s%n", "concurrency", "tokens/s", "requests/s",
          "p50 ms", "p99 ms"));
      for (int c : levels) {
        List<Double> latencies = new ArrayList<>();
        double[] t = bench.throughput(prompts, c, Math.max(2 * c, prompts.size()), maxTokens, latencies);
        double[] l = latencies.stream().mapToDouble(Double::doubleValue).toArray();
        report.append(KafkaBench.fmt("%11d %10.1f %10.2f %12.1f %12.1f%n", c, t[0], t[1],
            KafkaBench.percentile(l, 50), KafkaBench.percentile(l, 99)));
      }
    } catch (IOException e) {
      throw e;
    } catch (Exception e) {
      throw new IOException("bench through Kafka failed: " + e.getMessage());
    }
    out.print(report);
  }

  private static GenerationRequest request(String id, String[] item, Mode mode, boolean replay, int maxTokens) {
    if (replay) {
      return new GenerationRequest(id, item[0], Sampling.greedy(1 << 20), mode,
          Optional.of(new Forcing.Replay(item[1])));
    }
    return GenerationRequest.of(id, item[0], Sampling.greedy(maxTokens), mode);
  }

  /** Each item: {prompt, transcript (replay only, else empty)}. */
  static List<String[]> readItems(Path file, boolean replay) throws IOException {
    List<String> lines;
    try {
      lines = Files.readAllLines(file, StandardCharsets.UTF_8);
    } catch (NoSuchFileException e) {
      throw new IOException("cannot read " + file + ": no such file");
    } catch (IOException e) {
      throw new IOException("cannot read " + file + ": " + e.getMessage());
    }
    List<String[]> items = new ArrayList<>();
    for (String line : lines) {
      if (line.isBlank() || line.startsWith("#")) {
        continue;
      }
      if (replay) {
        int tab = line.indexOf('\t');
        items.add(tab < 0 ? new String[] {"", unescape(line)}
            : new String[] {unescape(line.substring(0, tab)), unescape(line.substring(tab + 1))});
      } else {
        items.add(new String[] {unescape(line), ""});
      }
    }
    return items;
  }

  static String unescape(String s) {
    StringBuilder sb = new StringBuilder(s.length());
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == '\\' && i + 1 < s.length()) {
        char n = s.charAt(++i);
        switch (n) {
          case 'n' -> sb.append('\n');
          case 't' -> sb.append('\t');
          case '\\' -> sb.append('\\');
          default -> sb.append(c).append(n);
        }
      } else {
        sb.append(c);
      }
    }
    return sb.toString();
  }

  private static double median(double[] values) {
    double[] v = values.clone();
    Arrays.sort(v);
    return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
  }

  private static String table(List<Row> rows, double geoSpeedup, double geoIdeal, double geoCorrected) {
    StringBuilder sb = new StringBuilder();
    sb.append(String.format(Locale.ROOT, "%-40s %7s %7s %6s %10s %10s %7s %9s %10s%n", "prompt", "tokens", "crit",
        "ideal", "serial ms", "async ms", "speedup", "identical", "corr.ideal"));
    for (Row r : rows) {
      String p = r.prompt().replace('\n', ' ');
      sb.append(String.format(Locale.ROOT, "%-40s %7d %7d %6.2f %10.1f %10.1f %7.2f %9s %10.2f%n",
          p.length() > 40 ? p.substring(0, 37) + "..." : p, r.tokens(), r.criticalPathTokens(), r.idealSpeedup(),
          r.serialMs(), r.asyncMs(), r.speedup(), r.identical() ? "yes" : "no", r.correctedIdeal()));
    }
    long same = rows.stream().filter(Row::identical).count();
    sb.append(String.format(Locale.ROOT, "geomean speedup %.2fx (ideal %.2fx, corrected for step cost %.2fx: "
        + "%.0f%% of it), identical %d/%d", geoSpeedup, geoIdeal, geoCorrected, 100 * geoSpeedup / geoCorrected,
        same, rows.size()));
    return sb.toString();
  }

  private static String json(List<Row> rows, double geoSpeedup, double geoIdeal, double geoCorrected)
      throws IOException {
    ObjectMapper mapper = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    ObjectNode root = mapper.createObjectNode();
    ArrayNode array = root.putArray("rows");
    for (Row r : rows) {
      array.addObject().put("prompt", r.prompt()).put("tokens", r.tokens())
          .put("criticalPathTokens", r.criticalPathTokens()).put("idealSpeedup", round(r.idealSpeedup()))
          .put("serialMs", round(r.serialMs())).put("asyncMs", round(r.asyncMs())).put("speedup", round(r.speedup()))
          .put("identical", r.identical()).put("correctedIdealSpeedup", round(r.correctedIdeal()));
    }
    root.put("geomeanSpeedup", round(geoSpeedup));
    root.put("geomeanIdealSpeedup", round(geoIdeal));
    root.put("geomeanCorrectedIdealSpeedup", round(geoCorrected));
    root.put("identical", rows.stream().filter(Row::identical).count());
    return mapper.writeValueAsString(root);
  }

  private static double round(double v) {
    return Math.round(v * 1000) / 1000.0;
  }
}
