package io.pastaserve.worker;

import io.pastaserve.worker.model.ExecutionProvider;
import io.pastaserve.worker.model.ModelRunner;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * The models the tests run, each opened once per test JVM and shared: the random-weights test model (small,
 * fast, with the PASTA-LANG tag tokens) and the bundled pasta-tiny.
 */
public final class TestModels {

  public static final Path TINY_RANDOM_DIR = Path.of("src/test/resources/models/tiny-random");
  public static final Path PASTA_TINY_DIR = Path.of("../models/pasta-tiny");

  private static ModelRunner tinyRandom;
  private static ModelRunner pastaTiny;

  private TestModels() {
  }

  /** The random-weights model, single-threaded on the CPU. */
  public static synchronized ModelRunner tinyRandom() {
    if (tinyRandom == null) {
      tinyRandom = ModelRunner.open(TINY_RANDOM_DIR, ExecutionProvider.CPU, 1);
    }
    return tinyRandom;
  }

  /** The bundled model, on the CPU with ONNX Runtime's default threads. */
  public static synchronized ModelRunner pastaTiny() {
    if (pastaTiny == null) {
      pastaTiny = ModelRunner.open(PASTA_TINY_DIR, ExecutionProvider.CPU, 0);
    }
    return pastaTiny;
  }

  /** The bundled model's held-out prompts, one a line, in order. */
  public static List<String> heldoutPrompts() {
    try {
      return Files.readAllLines(PASTA_TINY_DIR.resolve("heldout-prompts.txt"), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
