package io.pastaserve.worker.engine;

/** Why a request ended. */
public enum FinishReason {
  /** The model ended its answer (end of sequence) or wrote a stop string. */
  STOP,
  /** A token budget or the context length ran out. */
  LENGTH,
  /** Cancelled by the caller. */
  CANCELLED,
  /** The request failed in the engine (its own work, or a forward pass only it fails); the message says why. */
  ERROR
}
