package io.pastaserve.worker.engine;

import io.pastaserve.common.lang.PastaLimits;
import io.pastaserve.common.lang.Program;
import io.pastaserve.common.lang.Span;
import io.pastaserve.worker.model.Tokenizer;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** The tokens each span of a request is made to decode, by span id path, from its {@link Forcing}. */
final class ForcedTokens {

  private ForcedTokens() {
  }

  static Map<String, int[]> bySpan(Forcing forcing, PastaLimits limits, Tokenizer tokenizer, int eos) {
    if (forcing instanceof Forcing.Replay replay) {
      return ofTranscript(replay.transcript(), limits, tokenizer, eos);
    }
    Map<String, int[]> forced = new HashMap<>();
    Map<String, List<Integer>> known = forcing instanceof Forcing.Fork fork ? fork.tokensBySpan()
        : ((Forcing.Resume) forcing).tokensBySpan();
    for (Map.Entry<String, List<Integer>> e : known.entrySet()) {
      forced.put(e.getKey(), e.getValue().stream().mapToInt(Integer::intValue).toArray());
    }
    return forced;
  }

  /**
   * Where each span of a resumed request forked before, by span id path (sorted token indices, one per fork); null
   * when the forcing has no such record (a replay, or a resume that did not say): the cache budget decides then.
   */
  static Map<String, int[]> forksBySpan(Forcing forcing) {
    Map<String, List<Integer>> recorded;
    if (forcing instanceof Forcing.Fork fork) {
      recorded = fork.forksBySpan();
    } else if (forcing instanceof Forcing.Resume resume && resume.forksBySpan().isPresent()) {
      recorded = resume.forksBySpan().get();
    } else {
      return null;
    }
    Map<String, int[]> forks = new HashMap<>();
    for (Map.Entry<String, List<Integer>> e : recorded.entrySet()) {
      forks.put(e.getKey(), e.getValue().stream().mapToInt(Integer::intValue).sorted().toArray());
    }
    return forks;
  }

  /**
   * Replay: the tokens each span of a flat transcript's program is forced to decode — its own output, the main
   * span's followed by end of sequence.
   */
  static Map<String, int[]> ofTranscript(String transcript, PastaLimits limits, Tokenizer tokenizer, int eos) {
    Program program = Program.fromTranscript(transcript, limits);
    Map<String, int[]> forced = new HashMap<>();
    for (Span span : program.spans()) {
      int[] own = tokenizer.encode(span.ownOutput());
      if (span.id().isMain()) {
        own = Arrays.copyOf(own, own.length + 1);
        own[own.length - 1] = eos;
      }
      forced.put(span.id().path(), own);
    }
    return forced;
  }
}
