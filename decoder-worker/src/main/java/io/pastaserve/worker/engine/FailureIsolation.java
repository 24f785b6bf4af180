package io.pastaserve.worker.engine;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps a failed batched forward pass from failing every request in it. Each request in the pass runs its rows again
 * alone (the output is thrown away): the requests that fail alone fail; when none does (the pass as a whole needed
 * more memory than was left, say), the request holding the most cache fails. The other requests keep their pending
 * input and run again in the next step. Used on the scheduler thread.
 */
final class FailureIsolation {

  private static final Logger log = LoggerFactory.getLogger(FailureIsolation.class);

  /** Runs some rows' pending input alone; throws what that pass throws. */
  interface Probe {
    void run(List<SpanState> rows, List<Integer> chunks);
  }

  private final Probe probe;
  private final BiConsumer<RequestState, Throwable> fail;

  FailureIsolation(Probe probe, BiConsumer<RequestState, Throwable> fail) {
    this.probe = probe;
    this.fail = fail;
  }

  /** A pass over {@code rows} (feeding {@code chunks} tokens each) threw {@code error}: fails its culprits only. */
  void isolate(List<SpanState> rows, List<Integer> chunks, Throwable error) {
    Map<RequestState, List<Integer>> byRequest = new LinkedHashMap<>();
    for (int i = 0; i < rows.size(); i++) {
      byRequest.computeIfAbsent(rows.get(i).request, r -> new ArrayList<>()).add(i);
    }
    log.warn("a forward pass of {} rows of {} requests failed ({}); finding the culprit", rows.size(),
        byRequest.size(), error.toString());
    if (byRequest.size() == 1) {
      fail.accept(byRequest.keySet().iterator().next(), error);
      return;
    }
    boolean found = false;
    for (Map.Entry<RequestState, List<Integer>> e : byRequest.entrySet()) {
      List<SpanState> own = new ArrayList<>();
      List<Integer> ownChunks = new ArrayList<>();
      for (int i : e.getValue()) {
        own.add(rows.get(i));
        ownChunks.add(chunks.get(i));
      }
      try {
        probe.run(own, ownChunks);
      } catch (RuntimeException | Error alone) {
        fail.accept(e.getKey(), alone);
        found = true;
      }
    }
    if (!found) {
      failLargest(rows, error);
    }
  }

  /** Fails the request whose spans among {@code rows} hold the most cache. */
  void failLargest(List<SpanState> rows, Throwable error) {
    Map<RequestState, Long> held = new LinkedHashMap<>();
    for (SpanState s : rows) {
      held.merge(s.request, (long) s.kv.length() + s.pendingTokens.size(), Long::sum);
    }
    held.entrySet().stream().max(Comparator.comparingLong(Map.Entry::getValue))
        .ifPresent(e -> fail.accept(e.getKey(), error));
  }
}
