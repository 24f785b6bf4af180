package io.pastaserve.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.pastaserve.cli.LoadReport.Comparison;
import io.pastaserve.cli.LoadReport.Sample;
import io.pastaserve.cli.LoadReport.Slo;
import io.pastaserve.cli.LoadReport.Summary;
import java.io.BufferedReader;
import java.io.StringReader;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** The figures of {@code pasta load}, and the stream and schedule they are measured from. */
class LoadReportTest {

  private static final long MS = 1_000_000;
  private static final Slo SLO = new Slo(1.0, 0.1);

  /** A successful request sent at 0: first token after {@code ttftMs}, then {@code tokens - 1} more at itlMs. */
  private static Sample ok(long ttftMs, double itlMs, long tokens) {
    long first = ttftMs * MS;
    long end = first + Math.round(itlMs * MS * (tokens - 1));
    return new Sample(0, first, end, tokens, tokens, null, null);
  }

  @Test
  void percentiles_useNearestRank() {
    double[] values = {40, 15, 50, 35, 20};
    assertThat(LoadReport.percentile(values, 0)).isEqualTo(15);
    assertThat(LoadReport.percentile(values, 5)).isEqualTo(15);
    assertThat(LoadReport.percentile(values, 30)).isEqualTo(20);
    assertThat(LoadReport.percentile(values, 40)).isEqualTo(20);
    assertThat(LoadReport.percentile(values, 50)).isEqualTo(35);
    assertThat(LoadReport.percentile(values, 90)).isEqualTo(50);
    assertThat(LoadReport.percentile(values, 100)).isEqualTo(50);
    assertThat(values).containsExactly(40, 15, 50, 35, 20);
  }

  @Test
  void percentiles_ofOneToHundred_areTheRankItself() {
    double[] values = new double[100];
    for (int i = 0; i < 100; i++) {
      values[i] = 100 - i;
    }
    assertThat(LoadReport.percentile(values, 50)).isEqualTo(50);
    assertThat(LoadReport.percentile(values, 90)).isEqualTo(90);
    assertThat(LoadReport.percentile(values, 99)).isEqualTo(99);
    assertThat(LoadReport.percentile(values, 99.5)).isEqualTo(100);
  }

  @Test
  void percentiles_ofNoSamples_areNaN() {
    assertThat(LoadReport.percentile(new double[0], 50)).isNaN();
    assertThat(LoadReport.percentile(new double[0], 99)).isNaN();
  }

  @Test
  void percentiles_ofOneSample_areThatSample() {
    assertThat(LoadReport.percentile(new double[] {7.5}, 0)).isEqualTo(7.5);
    assertThat(LoadReport.percentile(new double[] {7.5}, 50)).isEqualTo(7.5);
    assertThat(LoadReport.percentile(new double[] {7.5}, 99)).isEqualTo(7.5);
  }

  @Test
  void percentiles_outsideZeroToHundred_areRejected() {
    assertThatThrownBy(() -> LoadReport.percentile(new double[] {1}, 101))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> LoadReport.percentile(new double[] {1}, Double.NaN))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void interTokenLatency_isTimeAfterFirstTokenPerLaterToken() {
    assertThat(LoadReport.interTokenLatency(900 * MS, 10)).isCloseTo(0.1, within(1e-12));
    assertThat(LoadReport.interTokenLatency(50 * MS, 2)).isCloseTo(0.05, within(1e-12));
  }

  @Test
  void interTokenLatency_ofOneTokenOrNoFirstToken_isUndefined() {
    assertThat(LoadReport.interTokenLatency(0, 1)).isNaN();
    assertThat(LoadReport.interTokenLatency(5 * MS, 0)).isNaN();
    assertThat(LoadReport.interTokenLatency(-1, 10)).isNaN();
  }

  @Test
  void sampleItl_countsUsageTokens_notChunks() {
    // parallel spans: 4 chunks on the wire carried 9 tokens; 800 ms after the first token
    Sample s = new Sample(0, 200 * MS, 1000 * MS, 4, 9, null, null);
    assertThat(s.ttftSeconds()).isCloseTo(0.2, within(1e-12));
    assertThat(s.itlSeconds()).isCloseTo(0.1, within(1e-12));
    assertThat(s.latencySeconds()).isCloseTo(1.0, within(1e-12));
  }

  @Test
  void goodput_countsOnlySuccessesThatMeetBothSlos() {
    List<Sample> samples = List.of(
        ok(100, 50, 20), // good
        ok(1000, 100, 2), // good: both exactly at the SLO
        ok(1001, 10, 20), // TTFT over
        ok(100, 101, 20), // ITL over
        ok(100, 0, 1), // one token: no ITL, good
        new Sample(0, -1, 300 * MS, 0, 0, null, null), // empty answer in 300 ms: judged on latency, good
        new Sample(0, -1, 1500 * MS, 0, 0, null, null), // empty answer in 1.5 s: not good
        Sample.failed(0, 10 * MS, "503", "queue full"));
    assertThat(samples.stream().filter(s -> LoadReport.meetsSlo(s, SLO)).count()).isEqualTo(4);
    Summary m = LoadReport.summarize("async", "c=4", samples, 2_000 * MS, SLO);
    assertThat(m.goodput()).isCloseTo(2.0, within(1e-12));
    assertThat(m.requestsPerSecond()).isCloseTo(3.5, within(1e-12));
  }

  @Test
  void tokensPerSecond_sumsCompletionTokensOfSuccessesOverWallTime() {
    List<Sample> samples = List.of(new Sample(0, 10 * MS, 500 * MS, 30, 60, null, null),
        new Sample(0, 10 * MS, 900 * MS, 40, 40, null, null),
        new Sample(0, 10 * MS, 400 * MS, 5, 5, LoadReport.STREAM, "span failed"));
    Summary m = LoadReport.summarize("async", "c=2", samples, 4_000 * MS, SLO);
    assertThat(m.outputTokens()).isEqualTo(100);
    assertThat(m.outputTokensPerSecond()).isCloseTo(25.0, within(1e-12));
    assertThat(m.wallSeconds()).isEqualTo(4.0);
    assertThat(LoadReport.perSecond(10, 0)).isZero();
  }

  @Test
  void summary_percentilesInMs_overSuccessesOnly() {
    List<Sample> samples = List.of(ok(100, 10, 11), ok(300, 30, 11), ok(200, 20, 11),
        Sample.failed(0, 5 * MS, "503", "queue full"));
    Summary m = LoadReport.summarize("serial", "c=1", samples, 1_000 * MS, SLO);
    assertThat(m.ttftP50Ms()).isCloseTo(200, within(1e-9));
    assertThat(m.ttftP99Ms()).isCloseTo(300, within(1e-9));
    assertThat(m.itlP50Ms()).isCloseTo(20, within(1e-9));
    assertThat(m.itlP90Ms()).isCloseTo(30, within(1e-9));
    assertThat(m.latencyP50Ms()).isCloseTo(400, within(1e-9));
    assertThat(m.latencyP99Ms()).isCloseTo(600, within(1e-9));
  }

  @Test
  void summary_ofOnlyFailures_hasUndefinedLatencies_andFailuresByLabel() {
    List<Sample> samples = List.of(Sample.failed(0, MS, "503", "queue full"),
        Sample.failed(0, MS, "503", "second message"), Sample.failed(0, MS, LoadReport.TIMEOUT, null));
    Summary m = LoadReport.summarize("async", "r=2/s", samples, 1_000 * MS, SLO);
    assertThat(m.requests()).isEqualTo(3);
    assertThat(m.failed()).isEqualTo(3);
    assertThat(m.failures()).containsExactly(Map.entry("503", 2), Map.entry("timeout", 1));
    assertThat(m.failureMessages()).containsExactly(Map.entry("503", "queue full"));
    assertThat(m.ttftP50Ms()).isNaN();
    assertThat(m.latencyP99Ms()).isNaN();
    assertThat(m.outputTokensPerSecond()).isZero();
    assertThat(m.goodput()).isZero();
  }

  @Test
  void comparison_isAsyncOverSerialThroughput_andSerialOverAsyncLatency() {
    Summary async = LoadReport.summarize("async", "c=1", List.of(ok(100, 10, 101)), 1_100 * MS, SLO);
    Summary serial = LoadReport.summarize("serial", "c=1", List.of(ok(100, 20, 101)), 2_100 * MS, SLO);
    Comparison c = Comparison.of(async, serial);
    assertThat(c.throughputRatio()).isCloseTo(21.0 / 11.0, within(1e-9));
    assertThat(c.latencyRatio()).isCloseTo(21.0 / 11.0, within(1e-9));
  }

  private static Sample readStream(String stream) throws Exception {
    AtomicLong clock = new AtomicLong();
    SseReader reader = new SseReader(new ObjectMapper(), () -> clock.addAndGet(10 * MS));
    return reader.read(new BufferedReader(new StringReader(stream)), 0);
  }

  @Test
  void sse_stampsFirstContent_andTakesTokensFromUsage() throws Exception {
    Sample s = readStream("""
        : keep-alive

        event: chunk
        id: 1
        data: {"choices":[{"index":0,"delta":{"role":"assistant"}}]}

        data: {"choices":[{"index":0,"delta":{"content":""}}]}
        data: {"choices":[{"index":0,"delta":{"content":"Hel"}}]}
        data: {"choices":[{"index":0,"delta":{"content":null}}]}
        data:{"choices":[{"index":0,"delta":{"content":"lo"}}]}
        data: {"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":7}}
        data: [DONE]
        data: {"choices":[{"index":0,"delta":{"content":"after done"}}]}
        """);
    assertThat(s.succeeded()).isTrue();
    assertThat(s.firstTokenNanos()).isEqualTo(30 * MS);
    assertThat(s.endNanos()).isEqualTo(70 * MS);
    assertThat(s.contentChunks()).isEqualTo(2);
    assertThat(s.completionTokens()).isEqualTo(7);
  }

  @Test
  void sse_withoutUsage_countsContentChunks() throws Exception {
    Sample s = readStream("""
        data: {"choices":[{"delta":{"content":"a"}}]}
        data: {"choices":[{"delta":{"content":"b"}}]}
        data: [DONE]
        """);
    assertThat(s.succeeded()).isTrue();
    assertThat(s.completionTokens()).isEqualTo(2);
  }

  @Test
  void sse_errorChunk_failsTheRequest() throws Exception {
    Sample s = readStream("""
        data: {"choices":[{"delta":{"content":"a"}}]}
        data: {"error":{"message":"span 3 failed","type":"server_error"}}
        """);
    assertThat(s.failure()).isEqualTo(LoadReport.STREAM);
    assertThat(s.message()).isEqualTo("span 3 failed");
    assertThat(LoadReport.meetsSlo(s, SLO)).isFalse();
  }

  @Test
  void sse_endWithoutDone_orMalformedChunk_failsTheRequest() throws Exception {
    assertThat(readStream("data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n").message())
        .isEqualTo("stream ended before [DONE]");
    assertThat(readStream("data: {not json\n").failure()).isEqualTo(LoadReport.STREAM);
  }

  @Test
  void errorBody_givesErrorMessage_orTheBodyItself() {
    SseReader reader = new SseReader(new ObjectMapper(), System::nanoTime);
    assertThat(reader.errorBodyMessage("{\"error\":{\"message\":\"invalid api key\"}}")).isEqualTo("invalid api key");
    assertThat(reader.errorBodyMessage("Bad Gateway\n")).isEqualTo("Bad Gateway");
    assertThat(reader.errorBodyMessage("")).isEqualTo("(empty body)");
  }

  @Test
  void arrivals_repeatForASeed_andScaleWithTheRate() {
    long[] a = LoadCommand.arrivals(42, 1.0, 20_000);
    assertThat(LoadCommand.arrivals(42, 1.0, 20_000)).isEqualTo(a);
    assertThat(LoadCommand.arrivals(43, 1.0, 20_000)).isNotEqualTo(a);
    long[] twice = LoadCommand.arrivals(42, 2.0, 20_000);
    assertThat(a[0]).isZero();
    assertThat((double) twice[19_999]).isCloseTo(a[19_999] / 2.0, within(1e3));
    // mean gap of exponential arrivals at 1/s is 1 s
    assertThat(a[19_999] / 1e9 / 19_999).isCloseTo(1.0, within(0.05));
  }
}
