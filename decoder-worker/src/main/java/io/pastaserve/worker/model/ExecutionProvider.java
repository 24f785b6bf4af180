package io.pastaserve.worker.model;

/** Where ONNX Runtime runs the model. */
public enum ExecutionProvider {
  /** The CPU provider. */
  CPU,
  /** CUDA; fails when the CUDA provider cannot load (needs the onnxruntime_gpu build, CUDA 12, cuDNN 9). */
  CUDA,
  /** CUDA when it loads, else CPU; the choice is logged once. */
  AUTO;

  public static ExecutionProvider parse(String value) {
    try {
      return valueOf(value.trim().toUpperCase(java.util.Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("execution provider must be cpu, cuda or auto, not '" + value + "'");
    }
  }
}
