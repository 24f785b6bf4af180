package io.pastaserve.cli;

import io.pastaserve.worker.model.ExecutionProvider;
import io.pastaserve.worker.model.ModelContractException;
import io.pastaserve.worker.model.ModelRunner;
import io.pastaserve.worker.model.RunnerApi;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Set;

/**
 * The options every model command shares: which model ({@code --model DIR}), where it runs ({@code --device
 * cpu|cuda|auto}) and how ({@code --runner binding|java}), with how many ONNX Runtime threads ({@code --threads}).
 */
final class ModelOptions {

  static final Set<String> VALUED = Set.of("--model", "--device", "--provider", "--runner", "--threads");

  private ModelOptions() {
  }

  /** The bundled model: {@code models/pasta-tiny} under the repository ({@code pasta.home}). */
  static Path defaultModel() {
    return Path.of(System.getProperty("pasta.home", ".")).resolve("models/pasta-tiny");
  }

  static ModelRunner open(String command, Options o) throws UsageException, IOException {
    Path dir = Path.of(o.get("--model", defaultModel().toString()));
    ExecutionProvider device;
    RunnerApi api;
    try {
      // --provider: the option's former name
      device = ExecutionProvider.parse(o.get("--device", o.get("--provider", "auto")));
      api = RunnerApi.parse(o.get("--runner", "binding"));
    } catch (IllegalArgumentException e) {
      throw new UsageException(command + ": " + e.getMessage());
    }
    int threads = o.intValue(command, "--threads", 0, 0, 256);
    try {
      return ModelRunner.open(dir, device, threads, true, api);
    } catch (ModelContractException e) {
      throw new IOException(e.getMessage());
    }
  }
}
