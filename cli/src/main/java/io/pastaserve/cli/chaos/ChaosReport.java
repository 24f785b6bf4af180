package io.pastaserve.cli.chaos;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;

/**
 * The figures of one chaos run: its phases (a fault-free control, then one fault each), every request with its
 * outcome, and the checks made after the load (spans freed, keys with a TTL, nothing left running). Pure: it only
 * counts and formats. Requests may be added from several threads; everything else happens on the harness's.
 */
final class ChaosReport {

  /** One phase of the run; {@code injectedAt} and {@code recoveredAt} in seconds from the start, -1 for none. */
  record Phase(String name, boolean fault, String what, double injectedAt, double recoveredAt) {
  }

  /**
   * One request: the phase it started in, prompt index, mode, whether streamed, its start and end in seconds from
   * the start of the run, and what became of it.
   */
  record Request(String phase, int prompt, String mode, boolean stream, double start, double end, Response response,
      Outcome outcome) {
  }

  /** A check made after a phase or after the run; {@code ok} false fails the run. */
  record Check(String name, boolean ok, String detail) {
  }

  private final List<Phase> phases = new ArrayList<>();
  private final List<Request> requests = new ArrayList<>();
  private final List<Check> checks = new ArrayList<>();

  synchronized void addPhase(Phase phase) {
    phases.add(phase);
  }

  /** Thread-safe: the load's clients add their requests as they end. */
  synchronized void add(Request request) {
    requests.add(request);
  }

  synchronized void addCheck(Check check) {
    checks.add(check);
  }

  synchronized List<Request> requests() {
    return List.copyOf(requests);
  }

  List<Check> checks() {
    return List.copyOf(checks);
  }

  /** Outcome counts of the requests of {@code phase} (every phase when null). */
  Map<Outcome, Integer> counts(String phase) {
    Map<Outcome, Integer> counts = new EnumMap<>(Outcome.class);
    for (Outcome o : Outcome.values()) {
      counts.put(o, 0);
    }
    for (Request r : requests) {
      if (phase == null || r.phase().equals(phase)) {
        counts.merge(r.outcome(), 1, Integer::sum);
      }
    }
    return counts;
  }

  long faults() {
    return phases.stream().filter(Phase::fault).count();
  }

  /** Requests counted in the summary: all but those the client hung up on purpose. */
  int counted() {
    return (int) requests.stream().filter(r -> r.outcome() != Outcome.CANCELLED_BY_CLIENT).count();
  }

  int hung() {
    return counts(null).get(Outcome.HUNG);
  }

  int lost() {
    Map<Outcome, Integer> c = counts(null);
    return c.get(Outcome.LOST) + c.get(Outcome.DUPLICATED) + c.get(Outcome.BROKEN);
  }

  /** The run passes when nothing hung, nothing was lost or duplicated, and every check held. */
  boolean passed() {
    return hung() == 0 && lost() == 0 && checks.stream().allMatch(Check::ok);
  }

  /** {@code faults F, requests R, identical I, failed-clear C, hung H, lost L}: the last line of the output. */
  String summaryLine() {
    Map<Outcome, Integer> c = counts(null);
    return String.format(Locale.ROOT, "faults %d, requests %d, identical %d, failed-clear %d, hung %d, lost %d",
        faults(), counted(), c.get(Outcome.IDENTICAL), c.get(Outcome.FAILED_CLEAR), hung(), lost());
  }

  private static final String ROW = "%-22s %8s %8s %5s %5s %6s %4s %4s %4s %6s %6s  %s";

  /** One row per phase: when the fault came and went, how many requests started in it, and their outcomes. */
  String table() {
    StringBuilder b = new StringBuilder();
    b.append(String.format(Locale.ROOT, ROW, "phase", "fault s", "back s", "reqs", "ident", "failed", "hung",
        "lost", "dup", "broken", "client", "errors seen")).append('\n');
    for (Phase p : phases) {
      Map<Outcome, Integer> c = counts(p.name());
      int total = c.values().stream().mapToInt(Integer::intValue).sum();
      b.append(String.format(Locale.ROOT, ROW, p.name(), seconds(p.injectedAt()), seconds(p.recoveredAt()), total,
          c.get(Outcome.IDENTICAL), c.get(Outcome.FAILED_CLEAR), c.get(Outcome.HUNG), c.get(Outcome.LOST),
          c.get(Outcome.DUPLICATED), c.get(Outcome.BROKEN), c.get(Outcome.CANCELLED_BY_CLIENT),
          errorsSeen(p.name()))).append('\n');
    }
    return b.toString();
  }

  /** The errors clients were told in {@code phase}, e.g. {@code 503 queue_unavailable x4, 504 x1}. */
  String errorsSeen(String phase) {
    Map<String, Integer> seen = new TreeMap<>();
    for (Request r : requests) {
      if (r.phase().equals(phase) && r.outcome() == Outcome.FAILED_CLEAR) {
        seen.merge(errorLabel(r.response()), 1, Integer::sum);
      }
    }
    return seen.isEmpty() ? "-" : seen.entrySet().stream().map(e -> e.getKey() + " x" + e.getValue())
        .collect(Collectors.joining(", "));
  }

  private static String errorLabel(Response r) {
    return switch (r.kind()) {
      case HTTP_ERROR -> r.status() + (r.error().isEmpty() ? "" : " " + shortError(r.error()));
      case STREAM_ERROR -> "stream error" + (r.error().isEmpty() ? "" : " " + shortError(r.error()));
      case COMPLETED -> "finish_reason " + r.finishReason();
      default -> r.kind().name().toLowerCase(Locale.ROOT);
    };
  }

  /** The error code when the message starts with one ({@code code: message}), else the first words. */
  private static String shortError(String error) {
    int colon = error.indexOf(": ");
    String head = colon > 0 && colon < 40 && !error.substring(0, colon).contains(" ") ? error.substring(0, colon)
        : error;
    return head.length() <= 40 ? head : head.substring(0, 37) + "...";
  }

  /** One line per request that hung, lost or broke, with what is needed to find it in the logs. */
  List<String> problems(Map<String, String> references) {
    return lines(references, r -> r.outcome() == Outcome.HUNG || r.outcome().isLost());
  }

  /** One line per request that failed with a clear error, with its error and id. */
  List<String> failures(Map<String, String> references) {
    return lines(references, r -> r.outcome() == Outcome.FAILED_CLEAR);
  }

  private synchronized List<String> lines(Map<String, String> references,
      java.util.function.Predicate<Request> which) {
    List<String> lines = new ArrayList<>();
    for (Request r : requests) {
      if (which.test(r)) {
        Response s = r.response();
        String ref = references.get(r.prompt() + "/" + r.mode());
        lines.add(String.format(Locale.ROOT,
            "%s: %s %s prompt %d %s, started %.1f s, ended %.1f s, id %s, HTTP %d, %d chars (fault-free %d)%s",
            r.outcome().label(), r.phase(), r.stream() ? "stream" : "whole", r.prompt(), r.mode(), r.start(), r.end(),
            s.requestId().isEmpty() ? "?" : s.requestId(), s.status(), s.text().length(),
            ref == null ? -1 : ref.length(), s.error().isEmpty() ? "" : ", " + s.error()));
      }
    }
    return lines;
  }

  /** Checks as lines: {@code ok|FAIL name: detail}. */
  List<String> checkLines() {
    List<String> lines = new ArrayList<>();
    for (Check c : checks) {
      lines.add((c.ok() ? "ok   " : "FAIL ") + c.name() + ": " + c.detail());
    }
    return lines;
  }

  private static String seconds(double s) {
    return s < 0 ? "-" : String.format(Locale.ROOT, "%.1f", s);
  }
}
