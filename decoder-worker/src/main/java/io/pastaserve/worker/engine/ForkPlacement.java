package io.pastaserve.worker.engine;

/**
 * Where a fork decodes: on its parent's engine, or on another engine (another worker) through a {@link RemoteForks}.
 */
public enum ForkPlacement {
  /** Every fork decodes beside its parent. */
  LOCAL,
  /** Every fork a span chooses to start decodes elsewhere. */
  SPREAD,
  /**
   * Beside its parent while the cache budget has room for it and the decode batch has a row for it
   * ({@link EngineConfig#maxBatch}); elsewhere when either has not.
   */
  AUTO
}
