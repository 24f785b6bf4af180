package io.pastaserve.common.model;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * What a model's {@code config.json} says (Hugging Face names, plus the {@code pasta} object of the model contract),
 * validated.
 *
 * @param layers transformer layers ({@code num_hidden_layers})
 * @param heads attention heads ({@code num_attention_heads})
 * @param kvHeads key/value heads ({@code num_key_value_heads}; defaults to {@code heads})
 * @param headDim size of one head ({@code head_dim}; defaults to {@code hidden_size / heads})
 * @param vocabSize logits per position ({@code vocab_size})
 * @param maxPositions tokens the context holds, prompt (template included) plus answer ({@code
 *     max_position_embeddings})
 * @param eosTokenId end of sequence ({@code eos_token_id}; the first one when a list)
 * @param padTokenId padding ({@code pad_token_id}; defaults to {@code eosTokenId})
 * @param chatTemplate prompt template with a {@code {prompt}} placeholder ({@code chat_template}; not Jinja; defaults
 *     to the prompt alone)
 * @param defaultReservedTokens positions a promise without {@code tokens} reserves for its chunk ({@code
 *     pasta.default_reserved_tokens}; default {@value #DEFAULT_RESERVED_TOKENS})
 * @param kvDtype the element type of the cache tensors ({@code torch_dtype}: {@code float32}, the default, or {@code
 *     float16})
 * @param staticCache whether the graph is the static-cache variant of the model contract ({@code pasta.cache: static})
 */
public record ModelConfigFile(int layers, int heads, int kvHeads, int headDim, int vocabSize, int maxPositions,
    int eosTokenId, int padTokenId, String chatTemplate, int defaultReservedTokens, String kvDtype,
    boolean staticCache) {

  public static final int DEFAULT_RESERVED_TOKENS = 48;
  public static final String FLOAT32 = "float32";
  public static final String FLOAT16 = "float16";
  /** Where a chat template puts the prompt. */
  public static final String PROMPT = "{prompt}";

  public ModelConfigFile {
    require(layers > 0, "num_hidden_layers must be positive");
    require(heads > 0 && kvHeads > 0 && heads % kvHeads == 0,
        "num_attention_heads must be a positive multiple of num_key_value_heads");
    require(headDim > 0, "head_dim must be positive");
    require(vocabSize > 0, "vocab_size must be positive");
    require(maxPositions > 0, "max_position_embeddings must be positive");
    require(eosTokenId >= 0 && eosTokenId < vocabSize, "eos_token_id must be a token id");
    require(padTokenId >= 0 && padTokenId < vocabSize, "pad_token_id must be a token id");
    require(chatTemplate != null && chatTemplate.contains(PROMPT), "chat_template must contain {prompt}");
    require(defaultReservedTokens >= 0, "pasta.default_reserved_tokens must not be negative");
    require(FLOAT32.equals(kvDtype) || FLOAT16.equals(kvDtype), "torch_dtype must be float32 or float16");
  }

  /** Reads the parsed {@code config.json}; an {@link IllegalArgumentException} says what is missing or wrong. */
  static ModelConfigFile of(JsonNode root) {
    int heads = required(root, "num_attention_heads");
    int headDim = root.has("head_dim") && !root.get("head_dim").isNull()
        ? root.get("head_dim").asInt()
        : required(root, "hidden_size") / heads;
    int eos = firstId(root.get("eos_token_id"), "eos_token_id");
    JsonNode pad = root.get("pad_token_id");
    return new ModelConfigFile(
        required(root, "num_hidden_layers"),
        heads,
        root.has("num_key_value_heads") ? root.get("num_key_value_heads").asInt() : heads,
        headDim,
        required(root, "vocab_size"),
        required(root, "max_position_embeddings"),
        eos,
        pad == null || pad.isNull() ? eos : firstId(pad, "pad_token_id"),
        root.path("chat_template").isTextual() ? root.get("chat_template").asText() : PROMPT,
        root.path("pasta").path("default_reserved_tokens").asInt(DEFAULT_RESERVED_TOKENS),
        root.path("torch_dtype").asText(FLOAT32),
        "static".equals(root.path("pasta").path("cache").asText("dynamic")));
  }

  /** The prompt as the model expects it: the chat template around it. */
  public String applyChatTemplate(String prompt) {
    return chatTemplate.replace(PROMPT, prompt);
  }

  private static int required(JsonNode root, String name) {
    JsonNode node = root.get(name);
    if (node == null || !node.isInt()) {
      throw new IllegalArgumentException("needs an integer " + name);
    }
    return node.asInt();
  }

  private static int firstId(JsonNode node, String name) {
    if (node != null && node.isArray() && node.size() > 0 && node.get(0).isInt()) {
      return node.get(0).asInt();
    }
    if (node == null || !node.isInt()) {
      throw new IllegalArgumentException("needs an integer " + name);
    }
    return node.asInt();
  }

  private static void require(boolean ok, String message) {
    if (!ok) {
      throw new IllegalArgumentException(message);
    }
  }
}
