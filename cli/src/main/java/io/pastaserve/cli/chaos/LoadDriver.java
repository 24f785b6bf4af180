package io.pastaserve.cli.chaos;

import java.io.PrintStream;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.DoubleSupplier;

/**
 * A steady open-loop load: a new request every {@code interval}, whatever became of the earlier ones, so requests
 * keep arriving while a part of the suite is away — at most {@code maxInFlight} at once (an arrival beyond it is
 * skipped and counted, so an outage does not pile up unbounded work). Request {@code i} of the run takes mode
 * {@code i mod 2}, streamed when {@code (i / 2) mod 2 == 0}, prompt {@code (i / 4) mod P}: every mix of mode and
 * streaming comes round every four requests. Each request is tagged with the phase it started in.
 */
final class LoadDriver {

  private final ChatClient client;
  private final List<String> prompts;
  private final Map<String, String> references;
  private final ChaosReport report;
  private final Duration interval;
  private final int maxInFlight;
  private final DoubleSupplier clock;
  private final PrintStream out;
  private final AtomicInteger next = new AtomicInteger();
  private final AtomicInteger inFlight = new AtomicInteger();
  private final AtomicInteger skipped = new AtomicInteger();
  private volatile boolean running;
  private Thread arrivals;
  private ExecutorService senders;

  /** {@code clock}: seconds since the run started; {@code references}: text by {@code "prompt/mode"}. */
  LoadDriver(ChatClient client, List<String> prompts, Map<String, String> references, ChaosReport report,
      Duration interval, int maxInFlight, DoubleSupplier clock, PrintStream out) {
    this.client = client;
    this.prompts = List.copyOf(prompts);
    this.references = references;
    this.report = report;
    this.interval = interval;
    this.maxInFlight = maxInFlight;
    this.clock = clock;
    this.out = out;
  }

  static String mode(int i) {
    return i % 2 == 0 ? "async" : "serial";
  }

  static boolean streamed(int i) {
    return (i / 2) % 2 == 0;
  }

  /** Starts the arrivals; their requests belong to {@code phase}. */
  void start(String phase) {
    running = true;
    skipped.set(0);
    senders = Executors.newCachedThreadPool(r -> {
      Thread t = new Thread(r, "pasta-chaos-client");
      t.setDaemon(true);
      return t;
    });
    ExecutorService pool = senders;
    arrivals = new Thread(() -> {
      while (running) {
        if (inFlight.get() < maxInFlight) {
          int i = next.getAndIncrement();
          int prompt = (i / 4) % prompts.size();
          inFlight.incrementAndGet();
          pool.execute(() -> {
            try {
              record(phase, prompt, mode(i), streamed(i));
            } finally {
              inFlight.decrementAndGet();
            }
          });
        } else {
          skipped.incrementAndGet();
        }
        try {
          Thread.sleep(interval.toMillis());
        } catch (InterruptedException e) {
          return;
        }
      }
    }, "pasta-chaos-arrivals");
    arrivals.setDaemon(true);
    arrivals.start();
  }

  /** Requests sent and not yet ended. */
  int inFlight() {
    return inFlight.get();
  }

  /** Arrivals of the current phase skipped because {@code maxInFlight} requests were running. */
  int skipped() {
    return skipped.get();
  }

  /** No new request; waits for those in flight (each ends by its deadline plus the margin). */
  void stop() throws InterruptedException {
    running = false;
    arrivals.interrupt();
    arrivals.join();
    senders.shutdown();
    if (!senders.awaitTermination(10, TimeUnit.MINUTES)) {
      throw new IllegalStateException("requests still running 10 minutes after the load stopped");
    }
  }

  /** Sends one request, classifies it and adds it to the report; says so at once when it hung or lost text. */
  Outcome record(String phase, int prompt, String mode, boolean stream) {
    double start = clock.getAsDouble();
    Response response = client.send(prompts.get(prompt), mode, stream);
    return add(phase, prompt, mode, stream, start, response);
  }

  /** Classifies {@code response} and adds it to the report. */
  Outcome add(String phase, int prompt, String mode, boolean stream, double start, Response response) {
    String reference = references.get(prompt + "/" + mode);
    Outcome outcome = OutcomeClassifier.classify(response, reference);
    double end = clock.getAsDouble();
    report.add(new ChaosReport.Request(phase, prompt, mode, stream, start, end, response, outcome));
    if (outcome == Outcome.HUNG || outcome.isLost()) {
      out.printf(Locale.ROOT, "[%6.1fs]   %s: %s prompt %d %s, id %s, %d chars of %d%s%n", end,
          outcome.label().toUpperCase(Locale.ROOT), stream ? "stream" : "whole", prompt, mode,
          response.requestId().isEmpty() ? "?" : response.requestId(), response.text().length(),
          reference == null ? -1 : reference.length(), response.error().isEmpty() ? "" : " (" + response.error() + ")");
    }
    return outcome;
  }
}
