package io.pastaserve.cli;

import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The figures of {@code pasta load}: what one request looked like to the client ({@link Sample}), and what a level
 * of load (one mode at one concurrency or arrival rate) adds up to ({@link Summary}). Pure code: no clocks, no I/O;
 * {@link LoadCommand} measures, this class counts.
 *
 * <p>Definitions, all as the client sees them:
 * <ul>
 *   <li><b>TTFT</b>: from sending the request to the first chunk with non-empty {@code delta.content}.</li>
 *   <li><b>ITL</b> (inter-token latency): {@code (end - first token) / (completion tokens - 1)}, defined only when
 *       the answer has more than one completion token. It is the mean time per output token after the first. A
 *       request whose answer decodes in parallel spans (async mode) delivers several tokens per step, so its ITL can
 *       be well below the time of one decode step: it is the time per output token the client sees, not the
 *       server's step time.</li>
 *   <li><b>End-to-end latency</b>: from sending the request to {@code data: [DONE]}.</li>
 *   <li><b>Output tokens/s</b>: completion tokens of the successful requests of a level divided by the level's wall
 *       time (first request sent to last answer ended).</li>
 *   <li><b>Goodput</b>: successful requests per second of wall time that met both SLOs: TTFT at most the TTFT SLO
 *       and ITL at most the ITL SLO. An answer of at most one token has no ITL and meets that SLO; an answer with no
 *       content at all is judged on its end-to-end latency in place of a TTFT.</li>
 *   <li><b>Percentiles</b>: nearest rank on the sorted samples: the smallest sample such that at least p% of the
 *       samples are at most it. No samples give NaN.</li>
 * </ul>
 */
final class LoadReport {

  /** Failure label of a request still running at the end of its time. */
  static final String TIMEOUT = "timeout";
  /** Failure label of an error chunk, a malformed chunk, or a stream that ended before {@code [DONE]}. */
  static final String STREAM = "stream";
  /** Failure label of a connection that failed (refused, reset) after the run started. */
  static final String IO = "io";

  private LoadReport() {
  }

  /**
   * One request as the client saw it. Times are {@link System#nanoTime()} readings.
   *
   * @param startNanos when the request was sent
   * @param firstTokenNanos when the first content chunk arrived; {@code -1} if none did
   * @param endNanos when the answer ended ({@code [DONE]}, an error, or the time-out)
   * @param contentChunks chunks with non-empty {@code delta.content}
   * @param completionTokens {@code usage.completion_tokens}, or {@code contentChunks} when the stream had no usage
   * @param failure {@code null} when the request succeeded; else the HTTP status ({@code "503"}), {@link #TIMEOUT},
   *     {@link #STREAM} or {@link #IO}
   * @param message what went wrong ({@code error.message} of the body or chunk); {@code null} on success
   */
  record Sample(long startNanos, long firstTokenNanos, long endNanos, long contentChunks, long completionTokens,
      String failure, String message) {

    static Sample failed(long startNanos, long endNanos, String failure, String message) {
      return new Sample(startNanos, -1, endNanos, 0, 0, failure, message);
    }

    boolean succeeded() {
      return failure == null;
    }

    /** Seconds to the first content token; NaN when no content arrived. */
    double ttftSeconds() {
      return firstTokenNanos < 0 ? Double.NaN : (firstTokenNanos - startNanos) / 1e9;
    }

    /** Seconds per output token after the first (see the class comment); NaN when not defined. */
    double itlSeconds() {
      return interTokenLatency(firstTokenNanos < 0 ? -1 : endNanos - firstTokenNanos, completionTokens);
    }

    double latencySeconds() {
      return (endNanos - startNanos) / 1e9;
    }
  }

  /** Service-level objectives for goodput, in seconds. */
  record Slo(double ttftSeconds, double itlSeconds) {
  }

  /**
   * One level of load: one mode at one concurrency or rate. Times in milliseconds, NaN when there were no samples.
   *
   * @param mode {@code async} or {@code serial}
   * @param load how the load was made: {@code c=16} (closed loop, 16 clients) or {@code r=2/s} (Poisson arrivals)
   * @param failures failed requests by label (HTTP status, {@code timeout}, {@code stream}, {@code io}), sorted
   * @param failureMessages the first message of each failure label
   */
  record Summary(String mode, String load, int requests, int succeeded, Map<String, Integer> failures,
      Map<String, String> failureMessages, double ttftP50Ms, double ttftP90Ms, double ttftP99Ms, double itlP50Ms,
      double itlP90Ms, double itlP99Ms, double latencyP50Ms, double latencyP99Ms, long outputTokens,
      double wallSeconds, double outputTokensPerSecond, double requestsPerSecond, double goodput) {

    Summary {
      failures = Collections.unmodifiableMap(new TreeMap<>(failures));
      failureMessages = Collections.unmodifiableMap(new TreeMap<>(failureMessages));
    }

    int failed() {
      return requests - succeeded;
    }
  }

  /**
   * Async against serial at the same level.
   *
   * @param throughputRatio async output tokens/s over serial's: above 1, async delivers more
   * @param latencyRatio serial p50 end-to-end latency over async's: above 1, async answers sooner
   */
  record Comparison(String load, double throughputRatio, double latencyRatio) {

    static Comparison of(Summary async, Summary serial) {
      return new Comparison(async.load(), async.outputTokensPerSecond() / serial.outputTokensPerSecond(),
          serial.latencyP50Ms() / async.latencyP50Ms());
    }
  }

  /** Nearest-rank percentile {@code p} (0..100) of {@code values}, which it does not modify; NaN when empty. */
  static double percentile(double[] values, double p) {
    if (!(p >= 0 && p <= 100)) {
      throw new IllegalArgumentException("percentile must be in [0, 100], got " + p);
    }
    if (values.length == 0) {
      return Double.NaN;
    }
    double[] sorted = values.clone();
    Arrays.sort(sorted);
    int rank = (int) Math.ceil(p / 100 * sorted.length);
    return sorted[Math.max(rank, 1) - 1];
  }

  /**
   * Seconds per output token after the first: {@code sinceFirstTokenNanos / (completionTokens - 1)}; NaN when the
   * answer has at most one token or no first token ({@code sinceFirstTokenNanos < 0}).
   */
  static double interTokenLatency(long sinceFirstTokenNanos, long completionTokens) {
    if (sinceFirstTokenNanos < 0 || completionTokens <= 1) {
      return Double.NaN;
    }
    return sinceFirstTokenNanos / 1e9 / (completionTokens - 1);
  }

  /** Whether a request succeeded and met both SLOs (see the class comment). */
  static boolean meetsSlo(Sample s, Slo slo) {
    if (!s.succeeded()) {
      return false;
    }
    double ttft = s.firstTokenNanos() < 0 ? s.latencySeconds() : s.ttftSeconds();
    double itl = s.itlSeconds();
    return ttft <= slo.ttftSeconds() && (Double.isNaN(itl) || itl <= slo.itlSeconds());
  }

  /** The figures of one level from its samples and its wall time (first request sent to last answer ended). */
  static Summary summarize(String mode, String load, List<Sample> samples, long wallNanos, Slo slo) {
    double wall = wallNanos / 1e9;
    List<Sample> ok = samples.stream().filter(Sample::succeeded).toList();
    Map<String, Integer> failures = new TreeMap<>();
    Map<String, String> messages = new TreeMap<>();
    for (Sample s : samples) {
      if (!s.succeeded()) {
        failures.merge(s.failure(), 1, Integer::sum);
        if (s.message() != null) {
          messages.putIfAbsent(s.failure(), s.message());
        }
      }
    }
    double[] ttft = ok.stream().mapToDouble(Sample::ttftSeconds).filter(d -> !Double.isNaN(d)).toArray();
    double[] itl = ok.stream().mapToDouble(Sample::itlSeconds).filter(d -> !Double.isNaN(d)).toArray();
    double[] latency = ok.stream().mapToDouble(Sample::latencySeconds).toArray();
    long tokens = ok.stream().mapToLong(Sample::completionTokens).sum();
    long good = ok.stream().filter(s -> meetsSlo(s, slo)).count();
    return new Summary(mode, load, samples.size(), ok.size(), failures, messages, ms(percentile(ttft, 50)),
        ms(percentile(ttft, 90)), ms(percentile(ttft, 99)), ms(percentile(itl, 50)), ms(percentile(itl, 90)),
        ms(percentile(itl, 99)), ms(percentile(latency, 50)), ms(percentile(latency, 99)), tokens, wall,
        perSecond(tokens, wall), perSecond(ok.size(), wall), perSecond(good, wall));
  }

  /** {@code count / seconds}; 0 when no time passed. */
  static double perSecond(long count, double seconds) {
    return seconds > 0 ? count / seconds : 0;
  }

  private static double ms(double seconds) {
    return seconds * 1000;
  }
}
