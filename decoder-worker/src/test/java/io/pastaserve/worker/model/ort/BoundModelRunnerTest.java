package io.pastaserve.worker.model.ort;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pastaserve.common.request.Mode;
import io.pastaserve.common.request.Sampling;
import io.pastaserve.worker.TestModels;
import io.pastaserve.worker.engine.Engine;
import io.pastaserve.worker.engine.EngineConfig;
import io.pastaserve.worker.engine.GenerationRequest;
import io.pastaserve.worker.engine.GenerationResult;
import io.pastaserve.worker.kv.KvBlock;
import io.pastaserve.worker.model.ExecutionProvider;
import io.pastaserve.worker.model.JavaApiRunner;
import io.pastaserve.worker.model.ModelContractException;
import io.pastaserve.worker.model.ModelRunner;
import io.pastaserve.worker.model.RunnerApi;
import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The I/O binding runner on the CPU (the device CI has) against the Java API runner on the same model: the same
 * logits and cache, pass for pass, and the same answers through the engine.
 */
class BoundModelRunnerTest {

  private static ModelRunner bound;
  private static ModelRunner javaApi;

  @BeforeAll
  static void open() {
    bound = ModelRunner.open(TestModels.PASTA_TINY_DIR, ExecutionProvider.CPU, 1, true, RunnerApi.BINDING);
    javaApi = ModelRunner.open(TestModels.PASTA_TINY_DIR, ExecutionProvider.CPU, 1, true, RunnerApi.JAVA);
  }

  @AfterAll
  static void close() {
    bound.close();
    javaApi.close();
  }

  @Test
  void opensWithIoBinding_andSaysWhereItRuns() {
    assertThat(bound).isInstanceOf(BoundModelRunner.class);
    assertThat(javaApi).isInstanceOf(JavaApiRunner.class);
    assertThat(bound.device()).isEqualTo("cpu");
  }

  @Test
  void prefillAndDecodeSteps_giveTheJavaApiRunnersLogitsAndCache_exactly() {
    int v = bound.config().vocabSize();
    int[] prompt = bound.tokenizer().encode(bound.config().applyChatTemplate("Name three rivers of Europe."));
    int rows = 3;
    int p = prompt.length;
    long[] ids = new long[rows * p];
    long[] pos = new long[rows * p];
    long[] mask = new long[rows * p];
    for (int r = 0; r < rows; r++) {
      for (int i = 0; i < p; i++) {
        ids[r * p + i] = prompt[i];
        pos[r * p + i] = i + r; // free positions, as forks use them
        mask[r * p + i] = i >= r ? 1 : 0; // rows masked on the left, as the batch pads them
      }
    }
    Pass a = new Pass(bound);
    Pass b = new Pass(javaApi);
    float[] la = a.run(rows, p, ids, pos, mask, v);
    float[] lb = b.run(rows, p, ids, pos, mask, v);
    assertThat(la).containsExactly(lb);
    for (int step = 0; step < 6; step++) {
      long[] next = new long[rows];
      long[] nextPos = new long[rows];
      int seq = step == 0 ? p : 1;
      for (int r = 0; r < rows; r++) {
        next[r] = argmax(la, (r * seq + seq - 1) * v, v);
        nextPos[r] = p + r + step;
      }
      long[] nextMask = new long[rows * (a.columns() + 1)];
      Arrays.fill(nextMask, 1L);
      la = a.run(rows, 1, next, nextPos, nextMask, v);
      lb = b.run(rows, 1, next, nextPos, nextMask, v);
      assertThat(la).as("logits of step %d", step).containsExactly(lb);
    }
    for (int l = 0; l < bound.config().layers(); l++) {
      for (int kv = 0; kv < 2; kv++) {
        assertThat(floats(a.past.tensor(l, kv))).as("cache of layer %d", l).containsExactly(floats(b.past.tensor(l,
            kv)));
      }
    }
  }

  @Test
  void theEngineWritesTheSameAnswers_onEitherRunner_inBothModes() {
    List<String> prompts = TestModels.heldoutPrompts().subList(0, 8);
    assertThat(answers(bound, prompts)).containsExactlyElementsOf(answers(javaApi, prompts));
  }

  @Test
  void cudaAskedForWhereItCannotRun_isAClearError() {
    assertThatThrownBy(() -> ModelRunner.open(TestModels.TINY_RANDOM_DIR, ExecutionProvider.CUDA, 1, true,
        RunnerApi.BINDING))
        .isInstanceOf(ModelContractException.class)
        .hasMessageContaining("CUDA was asked for and cannot run");
  }

  @Test
  void aFloat16Model_isRefusedByTheJavaApiRunner_andAGraphThatIsNot_byTheBindingRunner(@TempDir Path dir)
      throws IOException {
    try (var files = Files.list(TestModels.TINY_RANDOM_DIR)) {
      for (Path f : files.toList()) {
        Files.copy(f, dir.resolve(f.getFileName()));
      }
    }
    Path config = dir.resolve("config.json");
    String json = Files.readString(config);
    Files.writeString(config, json.replaceFirst("\\{", "{\"torch_dtype\": \"float16\", "));

    assertThatThrownBy(() -> ModelRunner.open(dir, ExecutionProvider.CPU, 1, true, RunnerApi.JAVA))
        .isInstanceOf(ModelContractException.class).hasMessageContaining("float16");
    // the graph's cache is float32: binding float16 tensors to it fails at load, not at the first request
    assertThatThrownBy(() -> ModelRunner.open(dir, ExecutionProvider.CPU, 1, true, RunnerApi.BINDING))
        .isInstanceOf(ModelContractException.class).hasMessageContaining("does not run as the model contract says")
        .hasMessageContaining("float16");
  }

  private static List<String> answers(ModelRunner runner, List<String> prompts) {
    List<String> out = new ArrayList<>();
    try (Engine engine = new Engine(runner, EngineConfig.defaults())) {
      int n = 0;
      for (String prompt : prompts) {
        for (Mode mode : Mode.values()) {
          GenerationResult r = engine.generate(GenerationRequest.of("r" + n++, prompt, Sampling.greedy(160),
              mode));
          out.add(mode + " " + r.annotated());
        }
      }
    }
    return out;
  }

  /** Ping-pong blocks of one runner: each pass's present is the next one's past. */
  private static final class Pass {
    private final ModelRunner runner;
    KvBlock past;
    KvBlock present;

    Pass(ModelRunner runner) {
      this.runner = runner;
      this.past = runner.newKvBlock();
      this.present = runner.newKvBlock();
    }

    int columns() {
      return past.columns();
    }

    float[] run(int rows, int seq, long[] ids, long[] pos, long[] mask, int vocab) {
      if (past.rows() != rows) {
        past.reshape(rows, 0);
      }
      float[] logits = floats(runner.forward(rows, seq, ids, pos, mask, past, present));
      KvBlock t = past;
      past = present;
      present = t;
      return logits;
    }
  }

  private static float[] floats(FloatBuffer b) {
    float[] out = new float[b.remaining()];
    b.duplicate().get(out);
    return out;
  }

  private static int argmax(float[] logits, int offset, int v) {
    int best = 0;
    for (int k = 1; k < v; k++) {
      if (logits[offset + k] > logits[offset + best]) {
        best = k;
      }
    }
    return best;
  }
}
