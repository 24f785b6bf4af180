package io.pastaserve.worker.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pastaserve.worker.kv.KvBlock;
import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ModelRunnerTest {

  static final Path TINY = Path.of("src/test/resources/models/tiny-random");
  static ModelRunner runner;

  @BeforeAll
  static void open() {
    runner = ModelRunner.open(TINY, ExecutionProvider.AUTO, 1);
  }

  @AfterAll
  static void close() {
    runner.close();
  }

  static float[] row(FloatBuffer logits, int index, int vocab) {
    float[] out = new float[vocab];
    logits.get(index * vocab, out);
    return out;
  }

  @Test
  void prefillThenStep_matchesOneLongPrefill() {
    int v = runner.config().vocabSize();
    KvBlock empty = runner.newKvBlock();
    empty.reshape(1, 0);
    KvBlock a = runner.newKvBlock();
    FloatBuffer whole = runner.forward(1, 4, new long[] {10, 11, 12, 13}, new long[] {0, 1, 2, 3},
        new long[] {1, 1, 1, 1}, empty, a);
    float[] last = row(whole, 3, v);

    KvBlock b = runner.newKvBlock();
    runner.forward(1, 3, new long[] {10, 11, 12}, new long[] {0, 1, 2}, new long[] {1, 1, 1}, empty, b);
    KvBlock c = runner.newKvBlock();
    FloatBuffer step = runner.forward(1, 1, new long[] {13}, new long[] {3}, new long[] {1, 1, 1, 1}, b, c);
    assertThat(row(step, 0, v)).containsExactly(last, org.assertj.core.data.Offset.offset(1e-4f));
    assertThat(c.columns()).isEqualTo(4);
  }

  @Test
  void batchedRowsWithHoles_matchSingleRows() {
    int v = runner.config().vocabSize();
    KvBlock empty = runner.newKvBlock();
    empty.reshape(1, 0);
    KvBlock single = runner.newKvBlock();
    float[] alone = row(runner.forward(1, 2, new long[] {20, 21}, new long[] {7, 9}, new long[] {1, 1}, empty,
        single), 1, v);
    // the same row in a batch of two, left-padded by two masked columns of garbage
    KvBlock empty2 = runner.newKvBlock();
    empty2.reshape(2, 2);
    KvBlock batch = runner.newKvBlock();
    FloatBuffer both = runner.forward(2, 2, new long[] {5, 6, 20, 21}, new long[] {0, 1, 7, 9},
        new long[] {1, 1, 1, 1, 0, 0, 1, 1}, empty2, batch);
    assertThat(row(both, 3, v)).containsExactly(alone, org.assertj.core.data.Offset.offset(1e-4f));
  }

  @Test
  void tokenizer_roundTripsTextAndTags() {
    Tokenizer t = runner.tokenizer();
    String s = "Tips:<promise topic=\"sleep\" tokens=\"3\"/>é€中<sync/>";
    int[] ids = t.encode(s);
    assertThat(t.decode(ids)).isEqualTo(s);
    assertThat(t.addedTokenId("</async>")).isPositive();
    assertThat(ids).contains(t.addedTokenId("<sync/>"));
  }

  @Test
  void missingDirectory_orFiles_areClearErrors(@TempDir Path dir) throws IOException {
    assertThatThrownBy(() -> ModelRunner.open(dir.resolve("nope"), ExecutionProvider.CPU, 1))
        .isInstanceOf(ModelContractException.class).hasMessageContaining("does not exist");
    assertThatThrownBy(() -> ModelRunner.open(dir, ExecutionProvider.CPU, 1))
        .isInstanceOf(ModelContractException.class).hasMessageContaining("no model.onnx");
    Files.copy(TINY.resolve("model.onnx"), dir.resolve("model.onnx"));
    assertThatThrownBy(() -> ModelRunner.open(dir, ExecutionProvider.CPU, 1))
        .isInstanceOf(ModelContractException.class).hasMessageContaining("config.json");
    Files.writeString(dir.resolve("config.json"), Files.readString(TINY.resolve("config.json"))
        .replace("\"num_hidden_layers\": 2", "\"num_hidden_layers\": 3"));
    Files.copy(TINY.resolve("tokenizer.json"), dir.resolve("tokenizer.json"));
    assertThatThrownBy(() -> ModelRunner.open(dir, ExecutionProvider.CPU, 1))
        .isInstanceOf(ModelContractException.class).hasMessageContaining("past_key_values.2.key");
  }
}
