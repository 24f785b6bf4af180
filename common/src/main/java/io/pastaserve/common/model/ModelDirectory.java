package io.pastaserve.common.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * A model's directory: {@code config.json} (what the model is: shapes, context length, special tokens, chat template),
 * {@code tokenizer.json}, and the graph. {@link #config()} reads {@code config.json} the one way every service reads
 * it; the tokenizer and the graph are loaded by their users.
 *
 * @param dir the directory
 */
public record ModelDirectory(Path dir) {

  /** The directory at {@code dir}, if it has a {@code config.json} and a {@code tokenizer.json}. */
  public static ModelDirectory open(Path dir) {
    ModelDirectory model = new ModelDirectory(dir);
    if (!Files.isRegularFile(model.configFile()) || !Files.isRegularFile(model.tokenizerFile())) {
      throw new ModelDirectoryException("model directory " + dir.toAbsolutePath()
          + " needs config.json and tokenizer.json (see docs/model-contract.md)");
    }
    return model;
  }

  /** {@code dir/config.json}. */
  public Path configFile() {
    return dir.resolve("config.json");
  }

  /** {@code dir/tokenizer.json} (Hugging Face's format). */
  public Path tokenizerFile() {
    return dir.resolve("tokenizer.json");
  }

  /** Reads {@code config.json}; fails with a {@link ModelDirectoryException} saying what is wrong. */
  public ModelConfigFile config() {
    Path file = configFile();
    JsonNode root;
    try {
      root = new ObjectMapper().readTree(Files.readString(file));
    } catch (NoSuchFileException e) {
      throw new ModelDirectoryException("model directory " + dir + " has no config.json");
    } catch (IOException e) {
      throw new ModelDirectoryException("cannot read " + file + ": " + e.getMessage(), e);
    }
    if (root == null || !root.isObject()) {
      throw new ModelDirectoryException(file + " is not a JSON object");
    }
    try {
      return ModelConfigFile.of(root);
    } catch (IllegalArgumentException e) {
      throw new ModelDirectoryException(file + ": " + e.getMessage());
    }
  }
}
