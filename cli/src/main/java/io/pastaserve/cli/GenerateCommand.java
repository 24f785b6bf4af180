package io.pastaserve.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.pastaserve.common.request.Mode;
import io.pastaserve.common.request.Sampling;
import io.pastaserve.worker.engine.Engine;
import io.pastaserve.worker.engine.EngineConfig;
import io.pastaserve.worker.engine.GenerationRequest;
import io.pastaserve.worker.engine.GenerationResult;
import io.pastaserve.worker.engine.GenerationStats;
import io.pastaserve.worker.model.ModelRunner;
import java.io.IOException;
import java.io.PrintStream;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletionException;

/**
 * {@code pasta generate --prompt TEXT [--model DIR] [--mode async|serial] [--max-tokens N] [--temperature T]
 * [--top-p P] [--seed S] [--json]}: one answer from the in-process engine.
 */
final class GenerateCommand {

  private static final String NAME = "generate";

  private final PrintStream out;

  GenerateCommand(PrintStream out) {
    this.out = out;
  }

  void run(List<String> args) throws UsageException, IOException {
    Set<String> valued = new HashSet<>(ModelOptions.VALUED);
    valued.addAll(Set.of("--prompt", "--mode", "--max-tokens", "--temperature", "--top-p", "--top-k", "--seed"));
    Options o = Options.parse(NAME, args, valued, Set.of("--json"));
    String prompt = o.required(NAME, "--prompt");
    Mode mode;
    Sampling sampling;
    try {
      mode = Mode.of(o.get("--mode", "async"));
      sampling = new Sampling(o.doubleValue(NAME, "--temperature", 0, 0, 100),
          o.doubleValue(NAME, "--top-p", 1, 0, 1), o.intValue(NAME, "--top-k", 0, 0, 1 << 20),
          o.longValue(NAME, "--seed", 0), o.intValue(NAME, "--max-tokens", 512, 1, 1 << 20), List.of());
    } catch (IllegalArgumentException e) {
      throw new UsageException(NAME + ": " + e.getMessage());
    }
    try (ModelRunner runner = ModelOptions.open(NAME, o);
        Engine engine = new Engine(runner, EngineConfig.defaults())) {
      GenerationResult result;
      try {
        result = engine.submit(new GenerationRequest("cli", prompt, sampling, mode, Optional.empty())).join();
      } catch (CompletionException e) {
        throw new IOException(e.getCause().getMessage());
      }
      if (o.flag("--json")) {
        out.println(json(result));
      } else {
        out.println(result.text());
      }
    }
  }

  static String json(GenerationResult r) throws IOException {
    ObjectMapper mapper = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    ObjectNode root = mapper.createObjectNode();
    root.put("text", r.text());
    root.put("annotated", r.annotated());
    root.put("finishReason", r.finishReason().wire());
    GenerationStats s = r.stats();
    ObjectNode stats = root.putObject("stats");
    stats.put("forks", s.forks());
    stats.put("promptTokens", s.promptTokens());
    stats.put("totalTokens", s.totalTokens());
    stats.put("criticalPathTokens", s.criticalPathTokens());
    stats.put("idealSpeedup", Math.round(s.idealSpeedup() * 1000) / 1000.0);
    stats.put("steps", s.steps());
    stats.put("wallMs", Math.round(s.wallMs() * 10) / 10.0);
    return mapper.writeValueAsString(root);
  }
}
