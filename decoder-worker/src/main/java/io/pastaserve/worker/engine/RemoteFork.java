package io.pastaserve.worker.engine;

import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * A fork placed on another engine: decode span {@code span} of {@code request}. {@code tokensBySpan} and
 * {@code forksBySpan} are the request's tokens so far, by span id path, and the indices of those that started forks
 * (as a resume has them): they rebuild the span's prefix there, with the visibility every token had here.
 */
public record RemoteFork(GenerationRequest request, String span, Map<String, List<Integer>> tokensBySpan,
    Map<String, List<Integer>> forksBySpan) {

  public RemoteFork {
    Objects.requireNonNull(request, "request");
    Objects.requireNonNull(span, "span");
    tokensBySpan = Map.copyOf(tokensBySpan);
    forksBySpan = Map.copyOf(forksBySpan);
  }

  /** The request the other engine runs: this one's, made to rebuild the prefix and decode {@link #span} alone. */
  public GenerationRequest forkRequest() {
    return new GenerationRequest(request.id(), request.prompt(), request.sampling(), request.mode(),
        Optional.of(new Forcing.Fork(tokensBySpan, forksBySpan, span)), request.limits());
  }
}
