package io.pastaserve.testing;

import java.time.Duration;
import java.util.concurrent.TimeUnit;

/** Stopping the processes the test servers run. */
final class Processes {

  private Processes() {
  }

  /** SIGTERM, then SIGKILL when {@code process} has not ended within {@code grace}; null: nothing to stop. */
  static void stop(Process process, Duration grace) {
    if (process == null) {
      return;
    }
    process.destroy();
    try {
      if (!process.waitFor(grace.toMillis(), TimeUnit.MILLISECONDS)) {
        process.destroyForcibly();
      }
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
    }
  }
}
