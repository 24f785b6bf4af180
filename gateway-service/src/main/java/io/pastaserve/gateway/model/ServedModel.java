package io.pastaserve.gateway.model;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * The model the gateway serves, read from its directory without the weights: the name, the context length, the
 * chat template, and the tokenizer that counts a prompt's tokens exactly as a worker will (template applied,
 * special tokens recognised, none added), so that a prompt too long for the context is refused before any work
 * starts. Thread-safe.
 */
public final class ServedModel implements AutoCloseable {

  static {
    System.setProperty("ai.djl.offline", "true");
    if (System.getProperty("DJL_CACHE_DIR") == null && System.getenv("DJL_CACHE_DIR") == null) {
      System.setProperty("DJL_CACHE_DIR", Path.of(System.getProperty("user.home"), ".cache", "pasta-serve", "djl")
          .toString());
    }
  }

  private final String name;
  private final int maxContext;
  private final String chatTemplate;
  private final HuggingFaceTokenizer tokenizer;

  private ServedModel(String name, int maxContext, String chatTemplate, HuggingFaceTokenizer tokenizer) {
    this.name = name;
    this.maxContext = maxContext;
    this.chatTemplate = chatTemplate;
    this.tokenizer = tokenizer;
  }

  /** Reads {@code dir/config.json} and {@code dir/tokenizer.json}; fails with the reason when either is unusable. */
  public static ServedModel open(Path dir, String name) {
    Path config = dir.resolve("config.json");
    Path tokenizerFile = dir.resolve("tokenizer.json");
    if (!Files.isRegularFile(config) || !Files.isRegularFile(tokenizerFile)) {
      throw new IllegalStateException("model directory " + dir.toAbsolutePath()
          + " needs config.json and tokenizer.json (see docs/model-contract.md)");
    }
    JsonNode root;
    try {
      root = new ObjectMapper().readTree(config.toFile());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + config, e);
    }
    int maxContext = root.path("max_position_embeddings").asInt(0);
    if (maxContext <= 0) {
      throw new IllegalStateException(config + ": max_position_embeddings must be a positive integer");
    }
    String template = root.path("chat_template").isTextual() ? root.get("chat_template").asText() : "{prompt}";
    if (!template.contains("{prompt}")) {
      throw new IllegalStateException(config + ": chat_template must contain {prompt}");
    }
    try {
      HuggingFaceTokenizer tokenizer = HuggingFaceTokenizer.newInstance(tokenizerFile,
          Map.of("addSpecialTokens", "false", "padding", "false", "truncation", "false"));
      return new ServedModel(name, maxContext, template, tokenizer);
    } catch (IOException | RuntimeException e) {
      throw new IllegalStateException("cannot load " + tokenizerFile + ": " + e.getMessage(), e);
    }
  }

  public String name() {
    return name;
  }

  /** Tokens the context holds: prompt (template included) plus answer. */
  public int maxContext() {
    return maxContext;
  }

  /** Tokens the prompt takes once the chat template is applied, as the worker will count them. */
  public int promptTokens(String prompt) {
    return tokenizer.encode(chatTemplate.replace("{prompt}", prompt), false, false).getIds().length;
  }

  @Override
  public void close() {
    tokenizer.close();
  }
}
