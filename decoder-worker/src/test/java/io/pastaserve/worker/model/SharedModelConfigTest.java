package io.pastaserve.worker.model;

import static org.assertj.core.api.Assertions.assertThat;

import io.pastaserve.common.model.ModelConfigFile;
import io.pastaserve.common.model.ModelDirectory;
import io.pastaserve.worker.TestModels;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The worker's {@link ModelConfig} and the shared reader ({@link ModelDirectory}, what the gateway reads the served
 * model with) read every model directory the same: the gateway counts the context and applies the chat template as
 * the workers do.
 */
class SharedModelConfigTest {

  @Test
  void theSharedReader_andTheWorkersConfig_agree_onEveryBundledModel() {
    Path staticPair = Path.of("src/test/resources/models/static-pair");
    for (Path dir : List.of(TestModels.TINY_RANDOM_DIR, TestModels.PASTA_TINY_DIR, staticPair.resolve("dynamic"),
        staticPair.resolve("static"))) {
      ModelConfig worker = ModelConfig.load(dir);
      ModelConfigFile shared = ModelDirectory.open(dir).config();
      assertThat(new ModelConfigFile(worker.layers(), worker.heads(), worker.kvHeads(), worker.headDim(),
          worker.vocabSize(), worker.maxPositions(), worker.eosTokenId(), worker.padTokenId(), worker.chatTemplate(),
          worker.defaultReservedTokens(), worker.kvDtype(), worker.staticCache())).as(dir.toString())
          .isEqualTo(shared);
      assertThat(shared.applyChatTemplate("hi")).isEqualTo(worker.applyChatTemplate("hi"));
    }
  }
}
