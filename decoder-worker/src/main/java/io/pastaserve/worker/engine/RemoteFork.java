package io.pastaserve.worker.engine;

import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * A fork placed on another engine: decode span {@code span} of {@code request}. {@code tokensBySpan} and
 * {@code forksBySpan} are the request's tokens so far, by span id path, and the indices of those that started forks
 * (as a resume has them): they rebuild the span's prefix there, with the visibility every token had here.
 * {@code prefixKv}, when the placing engine carries the cache ({@link ForkPrefix#KV}), is the fork's prefix as its
 * parent's cache held it at the promise: the other engine may start from it instead of prefilling the tokens.
 */
public record RemoteFork(GenerationRequest request, String span, Map<String, List<Integer>> tokensBySpan,
    Map<String, List<Integer>> forksBySpan, Optional<ForkPrefixKv> prefixKv) {

  public RemoteFork {
    Objects.requireNonNull(request, "request");
    Objects.requireNonNull(span, "span");
    tokensBySpan = Map.copyOf(tokensBySpan);
    forksBySpan = Map.copyOf(forksBySpan);
    Objects.requireNonNull(prefixKv, "prefixKv");
  }

  /** A fork whose prefix is rebuilt from the token ids alone. */
  public RemoteFork(GenerationRequest request, String span, Map<String, List<Integer>> tokensBySpan,
      Map<String, List<Integer>> forksBySpan) {
    this(request, span, tokensBySpan, forksBySpan, Optional.empty());
  }

  /** The request the other engine runs: this one's, made to rebuild the prefix and decode {@link #span} alone. */
  public GenerationRequest forkRequest() {
    return forkRequest(prefixKv);
  }

  /**
   * The request the other engine runs, starting from {@code prefix} (what it got of {@link #prefixKv}, read back
   * from wherever it travelled; empty: the token ids alone).
   */
  public GenerationRequest forkRequest(Optional<ForkPrefixKv> prefix) {
    return new GenerationRequest(request.id(), request.prompt(), request.sampling(), request.mode(),
        Optional.of(new Forcing.Fork(tokensBySpan, forksBySpan, span, prefix)), request.limits());
  }
}
