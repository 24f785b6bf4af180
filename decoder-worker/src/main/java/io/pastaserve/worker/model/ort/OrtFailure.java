package io.pastaserve.worker.model.ort;

/** ONNX Runtime's C API, or the CUDA runtime beside it, reported an error. */
public final class OrtFailure extends RuntimeException {

  public OrtFailure(String message) {
    super(message);
  }

  public OrtFailure(String message, Throwable cause) {
    super(message, cause);
  }
}
