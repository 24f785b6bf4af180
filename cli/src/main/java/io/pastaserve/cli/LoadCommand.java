package io.pastaserve.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.pastaserve.cli.LoadReport.Comparison;
import io.pastaserve.cli.LoadReport.Sample;
import io.pastaserve.cli.LoadReport.Slo;
import io.pastaserve.cli.LoadReport.Summary;
import io.pastaserve.common.request.Mode;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.math.BigDecimal;
import java.net.ConnectException;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * {@code pasta load --prompts FILE [--url URL] [--api-key KEY] [--model NAME] [--mode async|serial|both]
 * [--concurrency LIST] [--rates LIST] [--requests N] [--max-tokens N] [--temperature T] [--seed S]
 * [--slo-ttft SECONDS] [--slo-itl SECONDS] [--timeout SECONDS] [--json]}: load on a running gateway's
 * OpenAI-compatible {@code POST /v1/chat/completions}, streamed, and what the client saw of it.
 *
 * <p>Each level of load runs once per mode ({@code "pasta": {"mode": ...}} in the request body); with
 * {@code --mode both} the two modes of a level run back to back, and which goes first alternates from level to level
 * so that drift favours neither. Levels:
 * <ul>
 *   <li>{@code --concurrency 1,4,16,64} (closed loop): N clients, each sending its next prompt as soon as its
 *       previous answer has ended; {@code max(--requests, 2N)} requests per level.</li>
 *   <li>{@code --rates 0.5,1,2} (open loop): {@code --requests} arrivals per level at exponential gaps (Poisson
 *       arrivals) drawn from a {@link Random} seeded with {@code --seed}, so every mode and every run sees the same
 *       schedule, scaled to the rate. Requests in flight are not capped; those still running 2 × {@code --timeout}
 *       after the last arrival count as failures {@code timeout}.</li>
 * </ul>
 * {@code none} for either list skips it. Before measuring, 2 requests per mode warm the gateway up; they are not
 * counted, and when all of them fail the command stops with the first failure. Prompts are read as
 * {@code pasta bench} reads them: one a line, blank lines and {@code #} lines skipped, {@code \n} for a newline;
 * request {@code i} of a level sends prompt {@code i mod count}.
 *
 * <p>Every request has {@code --timeout} seconds from sending to {@code [DONE]}. The figures are defined in
 * {@link LoadReport}. The table prints one row per level as the level ends; {@code --json} prints one document at
 * the end.
 */
final class LoadCommand {

  private static final String NAME = "load";
  private static final int WARMUP_PER_MODE = 2;
  private static final int MAX_ERROR_BODY = 64 * 1024;
  /** One table row: mode, load, requests, failed, TTFT, ITL and end-to-end percentiles, rates, failures. */
  private static final String ROW = "%-6s %-10s %5s %5s %9s %9s %9s %8s %8s %8s %9s %9s %9s %7s %7s  %s";

  private final PrintStream out;

  LoadCommand(PrintStream out) {
    this.out = out;
  }

  /** How one level makes its load. */
  private sealed interface Load permits Closed, Open {

    String label();

    int requests();
  }

  /** {@code clients} clients, each with one request in flight. */
  private record Closed(int clients, int requests) implements Load {

    @Override
    public String label() {
      return "c=" + clients;
    }
  }

  /** Poisson arrivals at {@code rate} requests per second. */
  private record Open(double rate, int requests) implements Load {

    @Override
    public String label() {
      return "r=" + plain(rate) + "/s";
    }
  }

  /** The options, checked. */
  private record Settings(String url, URI endpoint, Optional<String> apiKey, Path promptsFile, List<String> prompts,
      String model, List<Mode> modes, List<Load> loads, int maxTokens, double temperature, long seed, Slo slo,
      Duration timeout, boolean json) {

    Settings {
      prompts = List.copyOf(prompts);
      modes = List.copyOf(modes);
      loads = List.copyOf(loads);
    }
  }

  /** One level's figures, with the load that made them. */
  private record Level(Load load, Summary summary) {
  }

  void run(List<String> args) throws UsageException, IOException {
    Settings s = settings(args);
    ObjectMapper mapper = new ObjectMapper();
    List<Level> levels = new ArrayList<>();
    try (Gateway gateway = new Gateway(s, mapper)) {
      warmUp(s, gateway);
      if (!s.json()) {
        out.println(header(s));
        out.println(tableHeader());
      }
      for (int k = 0; k < s.loads().size(); k++) {
        Load load = s.loads().get(k);
        List<Mode> order = new ArrayList<>(s.modes());
        if (k % 2 == 1) {
          Collections.reverse(order);
        }
        for (Mode mode : order) {
          Summary summary = measure(s, gateway, load, mode);
          levels.add(new Level(load, summary));
          if (!s.json()) {
            out.println(row(summary));
          }
        }
      }
    }
    List<Comparison> comparisons = comparisons(s, levels);
    if (s.json()) {
      out.println(json(s, levels, comparisons, mapper));
    } else {
      out.print(footer(levels, comparisons));
    }
  }

  private static Settings settings(List<String> args) throws UsageException, IOException {
    Options o = Options.parse(NAME, args,
        Set.of("--url", "--api-key", "--prompts", "--model", "--mode", "--concurrency", "--rates", "--requests",
            "--max-tokens", "--temperature", "--seed", "--slo-ttft", "--slo-itl", "--timeout"),
        Set.of("--json"));
    String url = o.get("--url", "http://127.0.0.1:8080");
    while (url.endsWith("/")) {
      url = url.substring(0, url.length() - 1);
    }
    URI endpoint;
    try {
      URI base = new URI(url);
      if (!("http".equals(base.getScheme()) || "https".equals(base.getScheme())) || base.getHost() == null) {
        throw new UsageException(NAME + ": --url needs http://HOST[:PORT], got '" + url + "'");
      }
      endpoint = new URI(url + "/v1/chat/completions");
    } catch (URISyntaxException e) {
      throw new UsageException(NAME + ": --url is not a URL: " + e.getMessage());
    }
    String key = o.get("--api-key", System.getenv("PASTA_API_KEY"));
    Optional<String> apiKey = key == null || key.isBlank() ? Optional.empty() : Optional.of(key.strip());
    String model = o.get("--model", "pasta-tiny");
    if (model.isBlank()) {
      throw new UsageException(NAME + ": --model needs a name");
    }
    String modeName = o.get("--mode", "both");
    List<Mode> modes;
    try {
      modes = modeName.equals("both") ? List.of(Mode.ASYNC, Mode.SERIAL) : List.of(Mode.of(modeName));
    } catch (IllegalArgumentException e) {
      throw new UsageException(NAME + ": --mode must be async, serial or both, not '" + modeName + "'");
    }
    int requests = o.intValue(NAME, "--requests", 32, 1, 1_000_000);
    List<Load> loads = new ArrayList<>();
    for (String c : list(o, "--concurrency", "1,4,16,64")) {
      int clients;
      try {
        clients = Integer.parseInt(c);
      } catch (NumberFormatException e) {
        throw new UsageException(NAME + ": --concurrency needs comma-separated integers, got '" + c + "'");
      }
      if (clients < 1 || clients > 4096) {
        throw new UsageException(NAME + ": --concurrency levels must be in 1..4096, got " + clients);
      }
      loads.add(new Closed(clients, Math.max(requests, 2 * clients)));
    }
    for (String r : list(o, "--rates", "none")) {
      double rate;
      try {
        rate = Double.parseDouble(r);
      } catch (NumberFormatException e) {
        throw new UsageException(NAME + ": --rates needs comma-separated numbers (requests/s), got '" + r + "'");
      }
      if (!(rate > 0 && rate <= 100_000)) {
        throw new UsageException(NAME + ": --rates must be above 0 and at most 100000 requests/s, got " + r);
      }
      loads.add(new Open(rate, requests));
    }
    if (loads.isEmpty()) {
      throw new UsageException(NAME + ": nothing to run: --concurrency and --rates are both none");
    }
    int maxTokens = o.intValue(NAME, "--max-tokens", 256, 1, 1 << 20);
    double temperature = o.doubleValue(NAME, "--temperature", 0, 0, 100);
    long seed = o.longValue(NAME, "--seed", 0);
    double sloTtft = positive(o, "--slo-ttft", 1.0);
    double sloItl = positive(o, "--slo-itl", 0.1);
    double timeout = positive(o, "--timeout", 120);
    Path file = Path.of(o.required(NAME, "--prompts"));
    List<String> prompts = BenchCommand.readItems(file, false).stream().map(item -> item[0]).toList();
    if (prompts.isEmpty()) {
      throw new UsageException(NAME + ": " + file + " holds no prompts");
    }
    return new Settings(url, endpoint, apiKey, file, prompts, model, modes, loads, maxTokens, temperature, seed,
        new Slo(sloTtft, sloItl), Duration.ofMillis(Math.round(timeout * 1000)), o.flag("--json"));
  }

  /** The comma-separated items of a list option; none for {@code none}. */
  private static List<String> list(Options o, String name, String fallback) throws UsageException {
    String v = o.get(name, fallback).trim();
    if (v.equals("none")) {
      return List.of();
    }
    List<String> items = new ArrayList<>();
    for (String item : v.split(",", -1)) {
      if (item.isBlank()) {
        throw new UsageException(NAME + ": " + name + " has an empty item in '" + v + "' (or say none)");
      }
      items.add(item.trim());
    }
    return items;
  }

  private static double positive(Options o, String name, double fallback) throws UsageException {
    double d = o.doubleValue(NAME, name, fallback, 0, 86_400);
    if (d <= 0) {
      throw new UsageException(NAME + ": " + name + " must be above 0 seconds");
    }
    return d;
  }

  /**
   * {@link #WARMUP_PER_MODE} requests per mode, one at a time, not counted. Fails when the gateway cannot be reached
   * or none of them succeeds (a wrong key, model or URL fails every request alike).
   */
  private static void warmUp(Settings s, Gateway gateway) throws IOException {
    Sample firstFailure = null;
    boolean anySucceeded = false;
    int n = 0;
    for (Mode mode : s.modes()) {
      for (int i = 0; i < WARMUP_PER_MODE; i++) {
        Sample sample;
        try {
          sample = gateway.send(s.prompts().get(n++ % s.prompts().size()), mode);
        } catch (ConnectException e) {
          throw new IOException("the gateway at " + s.url() + " is not reachable ("
              + (e.getMessage() == null ? "connection refused" : e.getMessage()) + "); start it with bin/pasta up");
        }
        if (sample.succeeded()) {
          anySucceeded = true;
        } else if (firstFailure == null) {
          firstFailure = sample;
        }
      }
    }
    if (!anySucceeded) {
      throw new IOException("warm-up requests to " + s.endpoint() + " failed: " + firstFailure.failure() + " "
          + firstFailure.message());
    }
  }

  private static Summary measure(Settings s, Gateway gateway, Load load, Mode mode) throws IOException {
    List<Sample> samples;
    if (load instanceof Closed closed) {
      samples = closedLoop(s, gateway, closed, mode);
    } else {
      samples = openLoop(s, gateway, (Open) load, mode);
    }
    long first = samples.stream().mapToLong(Sample::startNanos).min().orElse(0);
    long last = samples.stream().mapToLong(Sample::endNanos).max().orElse(0);
    return LoadReport.summarize(mode.wire(), load.label(), samples, last - first, s.slo());
  }

  /** {@code clients} threads, each sending the next prompt as soon as its previous answer has ended. */
  private static List<Sample> closedLoop(Settings s, Gateway gateway, Closed load, Mode mode) throws IOException {
    ExecutorService pool = Executors.newFixedThreadPool(load.clients(), daemon("pasta-load-client"));
    AtomicInteger next = new AtomicInteger();
    List<Sample> samples = Collections.synchronizedList(new ArrayList<>());
    List<Future<?>> clients = new ArrayList<>();
    try {
      for (int c = 0; c < load.clients(); c++) {
        clients.add(pool.submit(() -> {
          for (int i = next.getAndIncrement(); i < load.requests(); i = next.getAndIncrement()) {
            samples.add(gateway.sendCounted(s.prompts().get(i % s.prompts().size()), mode));
          }
        }));
      }
      for (Future<?> client : clients) {
        client.get();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted");
    } catch (ExecutionException e) {
      throw new IOException("a load client failed: " + e.getCause(), e.getCause());
    } finally {
      pool.shutdownNow();
    }
    return List.copyOf(samples);
  }

  /** Poisson arrivals, each request on its own thread; those still running at the mark count as time-outs. */
  private static List<Sample> openLoop(Settings s, Gateway gateway, Open load, Mode mode) throws IOException {
    long[] arrivals = arrivals(s.seed(), load.rate(), load.requests());
    ExecutorService pool = Executors.newCachedThreadPool(daemon("pasta-load-arrival"));
    List<Future<Sample>> pending = new ArrayList<>();
    List<Sample> samples = new ArrayList<>();
    try {
      long t0 = System.nanoTime();
      for (int i = 0; i < arrivals.length; i++) {
        sleepUntil(t0 + arrivals[i]);
        String prompt = s.prompts().get(i % s.prompts().size());
        pending.add(pool.submit(() -> gateway.sendCounted(prompt, mode)));
      }
      long mark = System.nanoTime() + 2 * s.timeout().toNanos();
      for (int i = 0; i < pending.size(); i++) {
        Future<Sample> f = pending.get(i);
        try {
          samples.add(f.get(Math.max(0, mark - System.nanoTime()), TimeUnit.NANOSECONDS));
        } catch (TimeoutException e) {
          f.cancel(true);
          samples.add(Sample.failed(t0 + arrivals[i], mark, LoadReport.TIMEOUT,
              "still running " + seconds(s.timeout().multipliedBy(2)) + " s after the last arrival"));
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted");
    } catch (ExecutionException e) {
      throw new IOException("a load request failed: " + e.getCause(), e.getCause());
    } finally {
      pool.shutdownNow();
    }
    return samples;
  }

  /**
   * Arrival times in nanoseconds from the start of a level: cumulative exponential gaps of mean {@code 1 / rate}
   * seconds, from a {@link Random} seeded with {@code seed}.
   */
  static long[] arrivals(long seed, double rate, int count) {
    Random random = new Random(seed);
    long[] at = new long[count];
    double t = 0;
    for (int i = 0; i < count; i++) {
      at[i] = Math.round(t * 1e9);
      t += -Math.log(1 - random.nextDouble()) / rate;
    }
    return at;
  }

  private static void sleepUntil(long deadline) throws InterruptedException {
    for (long left = deadline - System.nanoTime(); left > 0; left = deadline - System.nanoTime()) {
      TimeUnit.NANOSECONDS.sleep(left);
    }
  }

  private static ThreadFactory daemon(String name) {
    AtomicInteger n = new AtomicInteger();
    return r -> {
      Thread t = new Thread(r, name + "-" + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    };
  }

  /** async/serial per load, in the order the loads ran; empty unless both modes ran. */
  private static List<Comparison> comparisons(Settings s, List<Level> levels) {
    List<Comparison> comparisons = new ArrayList<>();
    if (s.modes().size() < 2) {
      return comparisons;
    }
    for (Load load : s.loads()) {
      Summary async = summaryOf(levels, load, Mode.ASYNC);
      Summary serial = summaryOf(levels, load, Mode.SERIAL);
      comparisons.add(Comparison.of(async, serial));
    }
    return comparisons;
  }

  private static Summary summaryOf(List<Level> levels, Load load, Mode mode) {
    return levels.stream().filter(l -> l.load().equals(load) && l.summary().mode().equals(mode.wire()))
        .map(Level::summary).findFirst().orElseThrow();
  }

  /** A number as written, without a trailing {@code .0}. */
  private static String plain(double d) {
    return BigDecimal.valueOf(d).stripTrailingZeros().toPlainString();
  }

  private static String seconds(Duration d) {
    return plain(d.toMillis() / 1000.0);
  }

  private static String header(Settings s) {
    return String.format(Locale.ROOT,
        "load on %s: model %s, prompts %s (%d), max tokens %d, temperature %s, seed %d; "
            + "SLO TTFT <= %s s, ITL <= %s s; times in ms",
        s.url(), s.model(), s.promptsFile(), s.prompts().size(), s.maxTokens(), plain(s.temperature()), s.seed(),
        plain(s.slo().ttftSeconds()), plain(s.slo().itlSeconds()));
  }

  private static String tableHeader() {
    return String.format(Locale.ROOT, ROW, "mode", "load", "reqs", "fail", "ttft p50", "ttft p90", "ttft p99",
        "itl p50", "itl p90", "itl p99", "e2e p50", "e2e p99", "tok/s", "req/s", "good/s", "failures");
  }

  private static String row(Summary m) {
    StringBuilder failures = new StringBuilder();
    m.failures().forEach((label, count) -> failures.append(failures.length() == 0 ? "" : ",").append(label)
        .append(':').append(count));
    return String.format(Locale.ROOT, ROW, m.mode(), m.load(), m.requests(), m.failed(), ms(m.ttftP50Ms()),
        ms(m.ttftP90Ms()), ms(m.ttftP99Ms()), ms(m.itlP50Ms()), ms(m.itlP90Ms()), ms(m.itlP99Ms()),
        ms(m.latencyP50Ms()), ms(m.latencyP99Ms()), fixed(m.outputTokensPerSecond(), 1),
        fixed(m.requestsPerSecond(), 2), fixed(m.goodput(), 2), failures.length() == 0 ? "-" : failures).stripTrailing();
  }

  private static String footer(List<Level> levels, List<Comparison> comparisons) {
    StringBuilder sb = new StringBuilder();
    if (!comparisons.isEmpty()) {
      sb.append(String.format(Locale.ROOT, "%nasync vs serial%n%-10s %22s %24s%n", "load",
          "tok/s async/serial", "p50 e2e serial/async"));
      for (Comparison c : comparisons) {
        sb.append(String.format(Locale.ROOT, "%-10s %22s %24s%n", c.load(), fixed(c.throughputRatio(), 2),
            fixed(c.latencyRatio(), 2)));
      }
    }
    boolean first = true;
    for (Level level : levels) {
      for (Map.Entry<String, String> e : level.summary().failureMessages().entrySet()) {
        if (first) {
          sb.append(String.format(Locale.ROOT, "%nfirst failure of each kind%n"));
          first = false;
        }
        sb.append(String.format(Locale.ROOT, "%-6s %-10s %-8s %s%n", level.summary().mode(), level.load().label(),
            e.getKey(), e.getValue()));
      }
    }
    return sb.toString();
  }

  private static String ms(double v) {
    return fixed(v, 1);
  }

  private static String fixed(double v, int decimals) {
    return Double.isFinite(v) ? String.format(Locale.ROOT, "%." + decimals + "f", v) : "-";
  }

  private static String json(Settings s, List<Level> levels, List<Comparison> comparisons, ObjectMapper mapper)
      throws IOException {
    ObjectNode root = mapper.createObjectNode();
    root.put("url", s.url());
    root.put("model", s.model());
    root.put("prompts", s.promptsFile().toString());
    root.put("promptCount", s.prompts().size());
    root.put("maxTokens", s.maxTokens());
    root.put("temperature", s.temperature());
    root.put("seed", s.seed());
    root.put("timeoutSeconds", s.timeout().toMillis() / 1000.0);
    root.putObject("slo").put("ttftSeconds", s.slo().ttftSeconds()).put("itlSeconds", s.slo().itlSeconds());
    ArrayNode array = root.putArray("levels");
    for (Level level : levels) {
      Summary m = level.summary();
      ObjectNode node = array.addObject();
      node.put("mode", m.mode());
      node.put("load", m.load());
      if (level.load() instanceof Closed closed) {
        node.put("concurrency", closed.clients());
      } else {
        node.put("rate", ((Open) level.load()).rate());
      }
      node.put("requests", m.requests());
      node.put("succeeded", m.succeeded());
      ObjectNode failures = node.putObject("failures");
      m.failures().forEach(failures::put);
      ObjectNode messages = node.putObject("failureMessages");
      m.failureMessages().forEach(messages::put);
      ObjectNode ttft = node.putObject("ttftMs");
      number(ttft, "p50", m.ttftP50Ms());
      number(ttft, "p90", m.ttftP90Ms());
      number(ttft, "p99", m.ttftP99Ms());
      ObjectNode itl = node.putObject("itlMs");
      number(itl, "p50", m.itlP50Ms());
      number(itl, "p90", m.itlP90Ms());
      number(itl, "p99", m.itlP99Ms());
      ObjectNode latency = node.putObject("latencyMs");
      number(latency, "p50", m.latencyP50Ms());
      number(latency, "p99", m.latencyP99Ms());
      node.put("outputTokens", m.outputTokens());
      number(node, "wallSeconds", m.wallSeconds());
      number(node, "outputTokensPerSecond", m.outputTokensPerSecond());
      number(node, "requestsPerSecond", m.requestsPerSecond());
      number(node, "goodput", m.goodput());
    }
    ArrayNode ratios = root.putArray("comparisons");
    for (Comparison c : comparisons) {
      ObjectNode node = ratios.addObject().put("load", c.load());
      number(node, "throughputRatio", c.throughputRatio());
      number(node, "latencyRatio", c.latencyRatio());
    }
    return mapper.copy().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(root);
  }

  /** Rounded to 3 decimals; null when not defined (no samples). */
  private static void number(ObjectNode node, String name, double v) {
    if (Double.isFinite(v)) {
      node.put(name, Math.round(v * 1000) / 1000.0);
    } else {
      node.putNull(name);
    }
  }

  /**
   * The gateway as the load clients see it: one streamed chat completion per {@link #send}. Each request has
   * {@code --timeout} from sending to {@code [DONE]}: the HTTP client's request time-out bounds the wait for the
   * response headers, a watchdog closes the body when the rest runs over. Thread-safe.
   */
  private static final class Gateway implements AutoCloseable {

    private final Settings settings;
    private final ObjectMapper mapper;
    private final HttpClient client;
    private final SseReader reader;
    private final ScheduledExecutorService watchdog;

    Gateway(Settings settings, ObjectMapper mapper) {
      this.settings = settings;
      this.mapper = mapper;
      Duration connect = settings.timeout().compareTo(Duration.ofSeconds(10)) < 0 ? settings.timeout()
          : Duration.ofSeconds(10);
      this.client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(connect).build();
      this.reader = new SseReader(mapper, System::nanoTime);
      this.watchdog = Executors.newSingleThreadScheduledExecutor(daemon("pasta-load-watchdog"));
    }

    /** As {@link #send}, with a refused connection as a failed request ({@code io}). */
    Sample sendCounted(String prompt, Mode mode) {
      long start = System.nanoTime();
      try {
        return send(prompt, mode);
      } catch (ConnectException e) {
        return Sample.failed(start, System.nanoTime(), LoadReport.IO,
            "cannot connect: " + (e.getMessage() == null ? "connection refused" : e.getMessage()));
      }
    }

    /**
     * One request, streamed to its end; every failure is in the sample but a connection that cannot be made.
     *
     * @throws ConnectException when the connection is refused or not made within the connect time-out
     */
    Sample send(String prompt, Mode mode) throws ConnectException {
      HttpRequest request = request(prompt, mode);
      long start = System.nanoTime();
      HttpResponse<InputStream> response;
      try {
        response = client.send(request, HttpResponse.BodyHandlers.ofInputStream());
      } catch (HttpConnectTimeoutException e) {
        throw new ConnectException("connect timed out");
      } catch (HttpTimeoutException e) {
        return Sample.failed(start, System.nanoTime(), LoadReport.TIMEOUT,
            "no response within " + seconds(settings.timeout()) + " s");
      } catch (ConnectException e) {
        throw e;
      } catch (IOException e) {
        return Sample.failed(start, System.nanoTime(), LoadReport.IO, String.valueOf(e.getMessage()));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return Sample.failed(start, System.nanoTime(), LoadReport.TIMEOUT, "interrupted");
      }
      InputStream body = response.body();
      AtomicBoolean timedOut = new AtomicBoolean();
      ScheduledFuture<?> alarm = watchdog.schedule(() -> {
        timedOut.set(true);
        closeQuietly(body);
      }, start + settings.timeout().toNanos() - System.nanoTime(), TimeUnit.NANOSECONDS);
      Sample sample;
      try (body) {
        if (response.statusCode() != 200) {
          String text = new String(body.readNBytes(MAX_ERROR_BODY), StandardCharsets.UTF_8);
          sample = Sample.failed(start, System.nanoTime(), Integer.toString(response.statusCode()),
              reader.errorBodyMessage(text));
        } else {
          sample = reader.read(new BufferedReader(new InputStreamReader(body, StandardCharsets.UTF_8)), start);
        }
      } catch (IOException e) {
        sample = Sample.failed(start, System.nanoTime(), LoadReport.IO, String.valueOf(e.getMessage()));
      } finally {
        alarm.cancel(false);
      }
      if (timedOut.get() && !sample.succeeded()) {
        return new Sample(sample.startNanos(), sample.firstTokenNanos(), sample.endNanos(), sample.contentChunks(),
            sample.contentChunks(), LoadReport.TIMEOUT,
            "no [DONE] within " + seconds(settings.timeout()) + " s");
      }
      return sample;
    }

    private HttpRequest request(String prompt, Mode mode) {
      ObjectNode body = mapper.createObjectNode();
      body.put("model", settings.model());
      body.putArray("messages").addObject().put("role", "user").put("content", prompt);
      body.put("max_tokens", settings.maxTokens());
      body.put("temperature", settings.temperature());
      body.put("seed", settings.seed());
      body.put("stream", true);
      body.putObject("stream_options").put("include_usage", true);
      body.putObject("pasta").put("mode", mode.wire());
      HttpRequest.Builder builder = HttpRequest.newBuilder(settings.endpoint()).timeout(settings.timeout())
          .header("Content-Type", "application/json").header("Accept", "text/event-stream")
          .POST(HttpRequest.BodyPublishers.ofString(body.toString(), StandardCharsets.UTF_8));
      settings.apiKey().ifPresent(key -> builder.header("Authorization", "Bearer " + key));
      return builder.build();
    }

    private static void closeQuietly(InputStream body) {
      try {
        body.close();
      } catch (IOException e) {
        // closing to end a read that ran over its time; the reader reports the time-out
      }
    }

    @Override
    public void close() {
      watchdog.shutdownNow();
    }
  }
}
