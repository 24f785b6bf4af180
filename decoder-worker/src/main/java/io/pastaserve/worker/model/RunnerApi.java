package io.pastaserve.worker.model;

import java.util.Locale;

/** How a {@link ModelRunner} talks to ONNX Runtime. */
public enum RunnerApi {
  /** The C API's I/O binding: the cache is bound where it lives, device memory on a GPU (the default). */
  BINDING,
  /** The Java API: the cache in host memory, copied to the device and back by every pass on a GPU. */
  JAVA;

  public static RunnerApi parse(String value) {
    return switch (value.trim().toLowerCase(Locale.ROOT)) {
      case "binding" -> BINDING;
      case "java" -> JAVA;
      default -> throw new IllegalArgumentException("runner must be binding or java, not '" + value + "'");
    };
  }
}
