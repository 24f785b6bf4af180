package io.pastaserve.common.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ModelDirectoryTest {

  @Test
  void theBundledModel_isRead() {
    ModelConfigFile config = ModelDirectory.open(Path.of("../models/pasta-tiny")).config();
    assertThat(config.maxPositions()).isPositive();
    assertThat(config.applyChatTemplate("hi")).contains("hi");
  }

  @Test
  void aDirectoryWithoutItsFiles_isRefused_sayingWhatItNeeds(@TempDir Path dir) {
    assertThatThrownBy(() -> ModelDirectory.open(dir)).isInstanceOf(ModelDirectoryException.class)
        .hasMessageContaining("needs config.json and tokenizer.json");
  }

  @Test
  void aConfigWithoutWhatTheModelContractAsks_isRefused_namingTheField(@TempDir Path dir) throws Exception {
    Files.writeString(dir.resolve("config.json"), "{\"num_attention_heads\":2,\"hidden_size\":8,"
        + "\"num_hidden_layers\":1,\"vocab_size\":10,\"eos_token_id\":1}");
    assertThatThrownBy(() -> new ModelDirectory(dir).config()).isInstanceOf(ModelDirectoryException.class)
        .hasMessageContaining("max_position_embeddings");
    Files.writeString(dir.resolve("config.json"), "{\"num_attention_heads\":2,\"hidden_size\":8,"
        + "\"num_hidden_layers\":1,\"vocab_size\":10,\"eos_token_id\":1,\"max_position_embeddings\":64,"
        + "\"chat_template\":\"no placeholder\"}");
    assertThatThrownBy(() -> new ModelDirectory(dir).config()).hasMessageContaining("chat_template must contain");
  }
}
