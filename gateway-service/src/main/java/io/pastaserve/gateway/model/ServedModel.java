package io.pastaserve.gateway.model;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import io.pastaserve.common.model.ModelConfigFile;
import io.pastaserve.common.model.ModelDirectory;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;

/**
 * The model the gateway serves, read from its directory without the weights ({@link ModelDirectory}, as the workers
 * read it): the name, the context length, the chat template, and the tokenizer that counts a prompt's tokens exactly
 * as a worker will (template applied, special tokens recognised, none added), so that a prompt too long for the
 * context is refused before any work starts. Thread-safe.
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
  private final ModelConfigFile config;
  private final HuggingFaceTokenizer tokenizer;

  private ServedModel(String name, ModelConfigFile config, HuggingFaceTokenizer tokenizer) {
    this.name = name;
    this.config = config;
    this.tokenizer = tokenizer;
  }

  /**
   * Reads the model directory ({@link ModelDirectory}: {@code config.json}, and {@code tokenizer.json} for the
   * tokenizer); fails with the reason when either is unusable.
   */
  public static ServedModel open(Path dir, String name) {
    ModelDirectory directory = ModelDirectory.open(dir);
    ModelConfigFile config = directory.config();
    Path tokenizerFile = directory.tokenizerFile();
    try {
      HuggingFaceTokenizer tokenizer = HuggingFaceTokenizer.newInstance(tokenizerFile,
          Map.of("addSpecialTokens", "false", "padding", "false", "truncation", "false"));
      return new ServedModel(name, config, tokenizer);
    } catch (IOException | RuntimeException e) {
      throw new IllegalStateException("cannot load " + tokenizerFile + ": " + e.getMessage(), e);
    }
  }

  public String name() {
    return name;
  }

  /** Tokens the context holds: prompt (template included) plus answer. */
  public int maxContext() {
    return config.maxPositions();
  }

  /** Tokens the prompt takes once the chat template is applied, as the worker will count them. */
  public int promptTokens(String prompt) {
    return tokenizer.encode(config.applyChatTemplate(prompt), false, false).getIds().length;
  }

  @Override
  public void close() {
    tokenizer.close();
  }
}
