package io.pastaserve.cli.chaos;

import io.pastaserve.cli.Options;
import io.pastaserve.cli.SuiteRequests;
import io.pastaserve.cli.UsageException;
import io.pastaserve.testing.ServiceProcess;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code bin/pasta placement}: where forks decode, measured on the real suite. For each fork placement (local,
 * spread, auto) the suite starts with two decoder workers of a small batch ({@code --max-batch}); one of them is
 * kept busy by long serial requests, and requests with six to eight forks go to that same worker, one at a time.
 * Reported per placement: the requests' latency, how many of their forks the other worker decoded, and the time from
 * a promise to its fork's first token as the output stream records it, for forks decoded by the request's worker
 * and by the other one; and whether each answer is the first placement's text.
 */
public final class PlacementCommand {

  private static final String NAME = "placement";
  private static final Pattern PROMISE = Pattern.compile("<promise ");

  private final PrintStream out;
  private final long startNanos = System.nanoTime();

  public PlacementCommand(PrintStream out) {
    this.out = out;
  }

  /** What one placement measured. */
  private record Run(String placement, List<Double> latencyMs, List<Double> localForkMs, List<Double> remoteForkMs,
      int forks, int remoteForks, Map<String, String> answers, String assignment) {
  }

  /**
   * Runs the measurement; returns 0, or 1 when an answer differs between placements.
   *
   * @throws UsageException for unknown arguments, missing or bad values
   * @throws IOException when a suite cannot be started
   */
  public int run(List<String> args) throws IOException, UsageException {
    Options options = Options.parse(NAME, args, Set.of("--placements", "--repeat", "--busy", "--max-batch",
        "--max-tokens", "--kafka-lib", "--run-dir", "--min-forks"), Set.of());
    List<String> placements = Arrays.stream(options.get("--placements", "local,spread,auto").split(","))
        .map(String::strip).filter(s -> !s.isEmpty()).toList();
    for (String p : placements) {
      if (!Set.of("local", "spread", "auto").contains(p)) {
        throw new UsageException(NAME + ": --placements takes local, spread and auto, not '" + p + "'");
      }
    }
    int repeat = options.intValue(NAME, "--repeat", 2, 1, 100);
    int maxBatch = options.intValue(NAME, "--max-batch", 4, 2, 1024);
    int busy = options.intValue(NAME, "--busy", maxBatch - 1, 0, 1024);
    int maxTokens = options.intValue(NAME, "--max-tokens", 1024, 16, 4096);
    int minForks = options.intValue(NAME, "--min-forks", 6, 1, 64);
    Path root = Path.of(System.getProperty("pasta.home", ".")).toAbsolutePath().normalize();
    Path kafkaLib = ChaosCommand.path(options, "--kafka-lib", root.resolve(".pasta/kafka/lib"));
    Path runDir = ChaosCommand.path(options, "--run-dir", root.resolve(".pasta/placement"));
    if (!Files.isDirectory(kafkaLib)) {
      throw new IllegalArgumentException(NAME + ": no Kafka jars in " + kafkaLib + " (bin/pasta placement fetches "
          + "them)");
    }
    Path model = root.resolve("models/pasta-tiny");
    List<String> prompts = Files.readAllLines(model.resolve("heldout-prompts.txt"), StandardCharsets.UTF_8);
    List<String> transcripts = Files.readAllLines(model.resolve("heldout-transcripts.txt"), StandardCharsets.UTF_8)
        .stream().map(l -> l.replace("\\n", "\n")).toList();
    // the prompts whose recorded answers fork minForks times or more; the longest answers keep the worker busy
    List<String> forking = new ArrayList<>();
    for (int i = 0; i < Math.min(prompts.size(), transcripts.size()); i++) {
      if (PROMISE.matcher(transcripts.get(i)).results().count() >= minForks) {
        forking.add(prompts.get(i));
      }
    }
    if (forking.isEmpty()) {
      throw new IllegalArgumentException(NAME + ": no held-out prompt forks " + minForks + " times or more");
    }
    List<String> longest = transcripts.stream().sorted(Comparator.comparingInt(String::length).reversed())
        .limit(Math.max(1, busy)).toList();
    ChaosCommand.clean(runDir);
    progress("pasta placement: %s; two workers of batch %d, one kept busy by %d serial requests; %d prompts with "
        + "%d+ forks x %d", placements, maxBatch, busy, forking.size(), minForks, repeat);
    List<Run> runs = new ArrayList<>();
    for (String placement : placements) {
      runs.add(measure(placement, root, kafkaLib, runDir.resolve(placement), maxBatch, busy, maxTokens, repeat,
          forking, longest));
    }
    return report(runs);
  }

  private Run measure(String placement, Path root, Path kafkaLib, Path dir, int maxBatch, int busy, int maxTokens,
      int repeat, List<String> prompts, List<String> busyReplays) throws IOException {
    Files.createDirectories(dir);
    String apiKey = "placement-" + UUID.randomUUID().toString().replace("-", "");
    // two job consumers a worker over the topic's four partitions: each worker owns two of them
    ChaosSuite suite = new ChaosSuite(root, kafkaLib, dir, apiKey, List.of(), List.of(
        "--pasta.worker.fork-placement=" + placement, "--pasta.worker.max-batch=" + maxBatch,
        "--pasta.worker.topic-partitions=2"));
    try {
      progress("%s: starting the suite (logs in %s)", placement, dir);
      suite.start();
      ChaosCommand.awaitTrue(Duration.ofSeconds(90), suite::workersSettled);
      String assignment = assignment(suite);
      try (SuiteRequests requests = new SuiteRequests(suite.kafka().bootstrapServers(), "127.0.0.1",
          suite.redisPort(), Duration.ofSeconds(180));
          BusyLoad load = new BusyLoad(requests, busyReplays, busy)) {
        int partition = 0;
        load.start(partition);
        Thread.sleep(2_000);
        answer(requests, partition, prompts.get(0), maxTokens); // warm-up, not counted
        List<Double> latency = new ArrayList<>();
        List<Double> localFork = new ArrayList<>();
        List<Double> remoteFork = new ArrayList<>();
        Map<String, String> answers = new LinkedHashMap<>();
        int forks = 0;
        int remote = 0;
        for (int k = 0; k < repeat; k++) {
          for (String prompt : prompts) {
            SuiteRequests.Answer a = answer(requests, partition, prompt, maxTokens);
            latency.add(a.latencyMs());
            localFork.addAll(a.localForkMs());
            remoteFork.addAll(a.remoteForkMs());
            forks += a.forks();
            remote += a.remoteForkMs().size();
            String first = answers.putIfAbsent(prompt, a.text());
            if (first != null && !first.equals(a.text())) {
              answers.put(prompt, "\u0000differs between repeats");
            }
          }
          progress("%s: pass %d of %d done, %d busy requests served", placement, k + 1, repeat, load.served());
        }
        return new Run(placement, latency, localFork, remoteFork, forks, remote, answers, assignment);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted");
    } catch (Exception e) {
      throw e instanceof IOException io ? io : new IOException(placement + ": " + e.getMessage(), e);
    } finally {
      suite.close();
    }
  }

  /** {@code prompt}'s answer, with span events, through the worker that owns {@code partition}; it must answer. */
  private static SuiteRequests.Answer answer(SuiteRequests requests, int partition, String prompt, int maxTokens)
      throws Exception {
    String id = requests.idOn(partition);
    SuiteRequests.Answer a = requests.run(id, prompt, maxTokens, true);
    if (!a.done().finishReason().isAnswer()) {
      throw new IllegalStateException("request " + id + " did not answer: " + a.done().finishReason() + " "
          + a.done().error());
    }
    return a;
  }

  /** Which span-job partitions each worker owns, from their logs. */
  private static String assignment(ChaosSuite suite) {
    List<String> owned = new ArrayList<>();
    Pattern p = Pattern.compile("pasta-workers: partitions assigned: \\[([^\\]]*)\\]");
    for (ServiceProcess w : suite.workers()) {
      List<String> parts = new ArrayList<>();
      Matcher m = p.matcher(w.log());
      while (m.find()) {
        parts.add(m.group(1).strip());
      }
      owned.add(":" + w.port() + " " + parts);
    }
    return String.join("; ", owned);
  }

  private int report(List<Run> runs) {
    out.println();
    out.println("| placement | latency p50 ms | p90 ms | max ms | forks | decoded by the other worker "
        + "| promise → first token, request's worker, p50 / p99 ms | other worker, p50 / p99 ms | same text as "
        + runs.get(0).placement() + " |");
    out.println("|---|---|---|---|---|---|---|---|---|");
    int status = 0;
    Map<String, String> reference = runs.get(0).answers();
    for (Run r : runs) {
      long same = r.answers().entrySet().stream().filter(e -> e.getValue().equals(reference.get(e.getKey())))
          .count();
      if (same != r.answers().size()) {
        status = 1;
      }
      out.printf(Locale.ROOT, "| %s | %.0f | %.0f | %.0f | %d | %d | %s | %s | %d/%d |%n", r.placement(),
          pct(r.latencyMs(), 50), pct(r.latencyMs(), 90), pct(r.latencyMs(), 100), r.forks(), r.remoteForks(),
          pair(r.localForkMs()), pair(r.remoteForkMs()), same, r.answers().size());
    }
    out.println();
    for (Run r : runs) {
      out.printf(Locale.ROOT, "%s: span-job partitions %s%n", r.placement(), r.assignment());
    }
    return status;
  }

  private static String pair(List<Double> ms) {
    return ms.isEmpty() ? "–" : String.format(Locale.ROOT, "%.0f / %.0f", pct(ms, 50), pct(ms, 99));
  }

  private static double pct(List<Double> values, double p) {
    double[] v = values.stream().mapToDouble(Double::doubleValue).sorted().toArray();
    if (v.length == 0) {
      return Double.NaN;
    }
    int i = (int) Math.ceil(p / 100.0 * v.length) - 1;
    return v[Math.max(0, Math.min(v.length - 1, i))];
  }

  private void progress(String format, Object... args) {
    out.printf(Locale.ROOT, "[%6.1fs] %s%n", (System.nanoTime() - startNanos) / 1e9,
        String.format(Locale.ROOT, format, args));
  }
}
