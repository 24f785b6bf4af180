package io.pastaserve.worker.engine;

import java.util.Locale;

/** How a request's forks are executed; both give the same text. */
public enum Mode {
  /** Forks decode concurrently with their parent, in the same batch. */
  ASYNC,
  /** A fork runs to completion as soon as it is promised; then its parent resumes. */
  SERIAL;

  public static Mode parse(String value) {
    try {
      return valueOf(value.trim().toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("mode must be async or serial, not '" + value + "'");
    }
  }
}
