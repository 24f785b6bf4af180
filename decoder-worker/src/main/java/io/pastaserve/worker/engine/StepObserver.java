package io.pastaserve.worker.engine;

import io.pastaserve.common.lang.SpanId;

/** Sees the logits every span's tokens are chosen from; for tests and diagnostics (copies cost time). */
@FunctionalInterface
public interface StepObserver {

  /**
   * @param requestId the request
   * @param span the span
   * @param index how many tokens the span had decoded before this one
   * @param logits a copy of the logits
   */
  void logits(String requestId, SpanId span, int index, float[] logits);
}
