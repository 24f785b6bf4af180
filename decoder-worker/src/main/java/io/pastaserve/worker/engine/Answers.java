package io.pastaserve.worker.engine;

import io.pastaserve.common.lang.PastaEvent;
import io.pastaserve.common.lang.PastaLimits;
import io.pastaserve.common.lang.Program;
import io.pastaserve.common.request.FinishReason;
import java.util.ArrayList;
import java.util.List;

/** Builds a request's answer from its spans: the flat transcript, the text in final order, what it cost. */
final class Answers {

  private Answers() {
  }

  /** The answer of {@code r} as it stands; {@code steps}: engine steps since it was admitted. */
  static GenerationResult of(RequestState r, FinishReason reason, String error, PastaLimits limits, long steps) {
    String annotated = r.main == null ? "" : render(r.main);
    String text = StopWatch.cut(Program.fromTranscript(annotated, limits).assembledText(),
        r.request.sampling().stop());
    long total = r.budget.spent();
    long critical = r.main == null ? 0 : finishTime(r.main, 0);
    double wallMs = (System.nanoTime() - r.submittedNanos) / 1e6;
    GenerationStats stats = new GenerationStats(r.promptTokens.length, Math.max(0, r.spans.size() - 1), total,
        critical, critical == 0 ? 1.0 : (double) total / critical, steps, wallMs,
        r.admittedNanos < 0 ? wallMs : (r.admittedNanos - r.submittedNanos) / 1e6, r.joinWaitNanos / 1e6);
    return new GenerationResult(r.id, text, annotated, reason, error, stats);
  }

  /** The flat transcript below {@code s}: its output with every fork's chunk after its promise. */
  private static String render(SpanState s) {
    StringBuilder sb = new StringBuilder();
    for (Object o : s.transcript) {
      if (o instanceof SpanState child) {
        sb.append(child.opener.raw()).append(render(child));
        if (!child.closedByModel) {
          sb.append(PastaEvent.AsyncClose.CANONICAL);
        }
      } else {
        sb.append((String) o);
      }
    }
    return sb.toString();
  }

  /** Decode steps from {@code start} until the span and its forks are done, one token per step per span. */
  private static long finishTime(SpanState s, long start) {
    long t = start;
    int done = 0;
    int child = 0;
    List<Long> outstanding = new ArrayList<>();
    for (int[] mark : s.marks) {
      t += mark[0] - done;
      done = mark[0];
      if (mark[1] == 0) {
        outstanding.add(finishTime(s.children.get(child++), t));
      } else {
        for (long f : outstanding) {
          t = Math.max(t, f);
        }
        outstanding.clear();
      }
    }
    t += s.decoded - done;
    for (long f : outstanding) {
      t = Math.max(t, f);
    }
    return t;
  }
}
