package io.pastaserve.cli;

import io.pastaserve.worker.model.ExecutionProvider;
import io.pastaserve.worker.model.ModelContractException;
import io.pastaserve.worker.model.ModelRunner;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Set;

/** The options every model command shares: which model, where it runs. */
final class ModelOptions {

  static final Set<String> VALUED = Set.of("--model", "--provider", "--threads");

  private ModelOptions() {
  }

  /** The bundled model: {@code models/pasta-tiny} under the repository ({@code pasta.home}). */
  static Path defaultModel() {
    return Path.of(System.getProperty("pasta.home", ".")).resolve("models/pasta-tiny");
  }

  static ModelRunner open(String command, Options o) throws UsageException, IOException {
    Path dir = Path.of(o.get("--model", defaultModel().toString()));
    ExecutionProvider provider;
    try {
      provider = ExecutionProvider.parse(o.get("--provider", "auto"));
    } catch (IllegalArgumentException e) {
      throw new UsageException(command + ": " + e.getMessage());
    }
    int threads = o.intValue(command, "--threads", 0, 0, 256);
    try {
      return ModelRunner.open(dir, provider, threads);
    } catch (ModelContractException e) {
      throw new IOException(e.getMessage());
    }
  }
}
