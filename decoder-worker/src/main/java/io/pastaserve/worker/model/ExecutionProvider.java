package io.pastaserve.worker.model;

/** Where ONNX Runtime runs the model ({@code pasta.worker.device}). */
public enum ExecutionProvider {
  /** The CPU provider. */
  CPU,
  /**
   * CUDA; fails when CUDA cannot run the model (it needs ONNX Runtime built for CUDA 13 with cuDNN 9 on the native
   * path, docs/gpu.md).
   */
  CUDA,
  /** CUDA when it can run the model, else the CPU; the choice is logged once. */
  AUTO;

  public static ExecutionProvider parse(String value) {
    try {
      return valueOf(value.trim().toUpperCase(java.util.Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("execution provider must be cpu, cuda or auto, not '" + value + "'");
    }
  }
}
