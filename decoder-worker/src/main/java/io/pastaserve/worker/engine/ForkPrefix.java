package io.pastaserve.worker.engine;

/**
 * How a fork placed on another engine ({@link ForkPlacement}) gets its prefix there: the setting of the engine that
 * places it ({@link Engine#placeForks(ForkPlacement, RemoteForks, ForkPrefix)}).
 */
public enum ForkPrefix {
  /** The other engine rebuilds the prefix from the request's token ids, by prefill. */
  TOKENS,
  /**
   * The fork also carries its parent's cache as it stands at the promise ({@link ForkPrefixKv}): the other engine
   * restores it and feeds only the fork's opener, and prefills the token ids only when it cannot use it.
   */
  KV
}
