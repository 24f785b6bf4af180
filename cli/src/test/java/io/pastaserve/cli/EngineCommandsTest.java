package io.pastaserve.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** generate and bench through the command line, on the random-weights test model. */
class EngineCommandsTest {

  static final String MODEL = Path.of("../decoder-worker/src/test/resources/models/tiny-random").toString();

  @Test
  void generate_json_reportsTextAndStats() throws Exception {
    PastaCliTest.Result r = PastaCliTest.run(new byte[0], "generate", "--model", MODEL, "--prompt", "hello",
        "--max-tokens", "12", "--json", "--device", "cpu");
    assertThat(r.status()).as(r.err()).isZero();
    JsonNode json = new ObjectMapper().readTree(r.out());
    assertThat(json.at("/stats/totalTokens").asInt()).isBetween(1, 12);
    assertThat(json.has("annotated")).isTrue();
    assertThat(json.at("/stats/idealSpeedup").asDouble()).isEqualTo(1.0);
  }

  @Test
  void generate_seededSampling_isReproducible_andModesAgree() {
    String[] base = {"generate", "--model", MODEL, "--prompt", "hi", "--max-tokens", "20", "--temperature", "0.9",
        "--seed", "17"};
    PastaCliTest.Result a = PastaCliTest.run(new byte[0], concat(base, "--mode", "async"));
    PastaCliTest.Result b = PastaCliTest.run(new byte[0], concat(base, "--mode", "serial"));
    assertThat(a.status()).isZero();
    assertThat(a.out()).isEqualTo(b.out());
  }

  @Test
  void bench_replay_json_hasOneRowPerTranscript(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("replay.txt");
    Files.writeString(file, "# two programs\nlist\tTips:\\n<promise topic=\"a\"/><async topic=\"a\">one two three"
        + "</async>\\n<promise topic=\"b\"/><async topic=\"b\">four five six</async><sync/>end\n"
        + "Plain text with no forks.\n");
    PastaCliTest.Result r = PastaCliTest.run(new byte[0], "bench", "--model", MODEL, "--prompts", file.toString(),
        "--replay", "--repeat", "2", "--warmup", "1", "--json");
    assertThat(r.status()).as(r.err()).isZero();
    JsonNode json = new ObjectMapper().readTree(r.out());
    assertThat(json.get("rows")).hasSize(2);
    assertThat(json.at("/rows/0/prompt").asText()).isEqualTo("list");
    assertThat(json.at("/rows/0/identical").asBoolean()).isTrue();
    assertThat(json.at("/rows/0/idealSpeedup").asDouble()).isGreaterThan(1.0);
    assertThat(json.at("/rows/1/idealSpeedup").asDouble()).isEqualTo(1.0);
    assertThat(json.get("geomeanSpeedup").asDouble()).isPositive();
  }

  @Test
  void badModelOrArguments_areOneLineErrors(@TempDir Path dir) {
    PastaCliTest.Result missing = PastaCliTest.run(new byte[0], "generate", "--model", dir.toString(), "--prompt",
        "x");
    assertThat(missing.status()).isEqualTo(1);
    assertThat(missing.err()).startsWith("pasta: model directory").contains("no model.onnx");
    PastaCliTest.Result noPrompt = PastaCliTest.run(new byte[0], "generate", "--model", MODEL);
    assertThat(noPrompt.status()).isEqualTo(2);
    PastaCliTest.Result badMode = PastaCliTest.run(new byte[0], "generate", "--model", MODEL, "--prompt", "x",
        "--mode", "sideways");
    assertThat(badMode.status()).isEqualTo(2);
    assertThat(badMode.err()).contains("mode must be \"async\" or \"serial\"");
    PastaCliTest.Result noFile = PastaCliTest.run(new byte[0], "bench", "--model", MODEL, "--prompts",
        dir.resolve("none.txt").toString());
    assertThat(noFile.status()).isEqualTo(1);
  }

  private static String[] concat(String[] a, String... b) {
    String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }
}
