package io.pastaserve.worker.model;

import io.pastaserve.common.model.ModelConfigFile;
import io.pastaserve.common.model.ModelDirectory;
import io.pastaserve.common.model.ModelDirectoryException;
import java.nio.file.Path;

/**
 * What the engine needs to know of a model, read from its {@code config.json} (Hugging Face names).
 *
 * @param layers transformer layers ({@code num_hidden_layers})
 * @param heads attention heads ({@code num_attention_heads})
 * @param kvHeads key/value heads ({@code num_key_value_heads}; defaults to {@code heads})
 * @param headDim size of one head ({@code head_dim}; defaults to {@code hidden_size / heads})
 * @param vocabSize logits per position ({@code vocab_size})
 * @param maxPositions largest position id plus one ({@code max_position_embeddings})
 * @param eosTokenId end of sequence ({@code eos_token_id}; the first one when a list)
 * @param padTokenId padding ({@code pad_token_id}; defaults to {@code eosTokenId})
 * @param chatTemplate prompt template with a {@code {prompt}} placeholder ({@code chat_template}; not Jinja)
 * @param defaultReservedTokens positions a promise without {@code tokens} reserves for its chunk
 *     ({@code pasta.default_reserved_tokens}; default 48)
 * @param kvDtype the element type of the cache tensors ({@code torch_dtype}: {@code float32}, the default, or
 *     {@code float16})
 * @param staticCache whether the graph is the static-cache variant of the model contract ({@code pasta.cache:
 *     static}): fixed slots written in place, instead of a present that is the past plus the new tokens
 */
public record ModelConfig(
    int layers, int heads, int kvHeads, int headDim, int vocabSize, int maxPositions, int eosTokenId,
    int padTokenId, String chatTemplate, int defaultReservedTokens, String kvDtype, boolean staticCache) {

  public static final int DEFAULT_RESERVED_TOKENS = ModelConfigFile.DEFAULT_RESERVED_TOKENS;
  public static final String FLOAT32 = ModelConfigFile.FLOAT32;
  public static final String FLOAT16 = ModelConfigFile.FLOAT16;

  /** Checked as {@code config.json} is ({@link ModelConfigFile}): an {@code IllegalArgumentException} says what. */
  public ModelConfig {
    new ModelConfigFile(layers, heads, kvHeads, headDim, vocabSize, maxPositions, eosTokenId, padTokenId, chatTemplate,
        defaultReservedTokens, kvDtype, staticCache);
  }

  /** A float32 model. */
  public ModelConfig(int layers, int heads, int kvHeads, int headDim, int vocabSize, int maxPositions,
      int eosTokenId, int padTokenId, String chatTemplate, int defaultReservedTokens) {
    this(layers, heads, kvHeads, headDim, vocabSize, maxPositions, eosTokenId, padTokenId, chatTemplate,
        defaultReservedTokens, FLOAT32, false);
  }

  /** Bytes per cache element: 4 for float32, 2 for float16. */
  public int kvElementBytes() {
    return FLOAT16.equals(kvDtype) ? 2 : Float.BYTES;
  }

  /** Reads {@code dir/config.json} through the reader every service shares ({@link ModelDirectory}). */
  public static ModelConfig load(Path dir) {
    ModelConfigFile file;
    try {
      file = new ModelDirectory(dir).config();
    } catch (ModelDirectoryException e) {
      throw new ModelContractException(e.getMessage(), e);
    }
    return new ModelConfig(file.layers(), file.heads(), file.kvHeads(), file.headDim(), file.vocabSize(),
        file.maxPositions(), file.eosTokenId(), file.padTokenId(), file.chatTemplate(), file.defaultReservedTokens(),
        file.kvDtype(), file.staticCache());
  }

  /** The prompt as the model expects it. */
  public String applyChatTemplate(String prompt) {
    return chatTemplate.replace(ModelConfigFile.PROMPT, prompt);
  }

  /** Bytes of key and value cache for one token across all layers. */
  public long kvBytesPerToken() {
    return 2L * layers * kvHeads * headDim * kvElementBytes();
  }

}
