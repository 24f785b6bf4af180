package io.pastaserve.worker.model;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;

/**
 * A Hugging Face {@code tokenizer.json}, loaded fully offline: encoding through the {@code tokenizers} library,
 * decoding token by token through a byte table, so that a token that ends inside a UTF-8 character is
 * completed by the next one ({@link Detokenizer}). Thread-safe after construction.
 */
public final class Tokenizer implements AutoCloseable {

  static {
    // never reach out to a model hub; keep the native library cache out of the way
    System.setProperty("ai.djl.offline", "true");
    if (System.getProperty("DJL_CACHE_DIR") == null && System.getenv("DJL_CACHE_DIR") == null) {
      System.setProperty("DJL_CACHE_DIR", Path.of(System.getProperty("user.home"), ".cache", "pasta-serve", "djl")
          .toString());
    }
  }

  private final HuggingFaceTokenizer tokenizer;
  /** The bytes each token stands for, by id. */
  private final byte[][] tokenBytes;
  private final Map<String, Integer> addedTokens = new HashMap<>();

  private Tokenizer(HuggingFaceTokenizer tokenizer, byte[][] tokenBytes) {
    this.tokenizer = tokenizer;
    this.tokenBytes = tokenBytes;
  }

  /** Loads {@code dir/tokenizer.json}. */
  public static Tokenizer load(Path dir, int vocabSize) {
    Path file = dir.resolve("tokenizer.json");
    if (!Files.isRegularFile(file)) {
      throw new ModelContractException("model directory " + dir + " has no tokenizer.json");
    }
    JsonNode root;
    try {
      root = new ObjectMapper().readTree(file.toFile());
    } catch (IOException e) {
      throw new ModelContractException("cannot read " + file + ": " + e.getMessage(), e);
    }
    HuggingFaceTokenizer hf;
    try {
      hf = HuggingFaceTokenizer.newInstance(file, Map.of("addSpecialTokens", "false", "padding", "false",
          "truncation", "false"));
    } catch (IOException | RuntimeException e) {
      throw new ModelContractException("cannot load " + file + ": " + e.getMessage(), e);
    }
    byte[][] bytes = new byte[vocabSize][];
    boolean byteLevel = root.path("decoder").toString().contains("\"ByteLevel\"");
    Map<Character, Integer> unicodeToByte = byteLevel ? unicodeToByte() : Map.of();
    JsonNode vocab = root.path("model").path("vocab");
    for (Iterator<Map.Entry<String, JsonNode>> it = vocab.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      int id = e.getValue().asInt(-1);
      if (id >= 0 && id < vocabSize) {
        bytes[id] = byteLevel ? fromByteLevel(e.getKey(), unicodeToByte) : null;
      }
    }
    Tokenizer t = new Tokenizer(hf, bytes);
    for (JsonNode added : root.path("added_tokens")) {
      int id = added.path("id").asInt(-1);
      String content = added.path("content").asText();
      if (id >= 0 && id < vocabSize) {
        bytes[id] = content.getBytes(StandardCharsets.UTF_8);
        t.addedTokens.put(content, id);
      }
    }
    for (int id = 0; id < vocabSize; id++) {
      if (bytes[id] == null) {
        // not byte-level (or a hole in the vocabulary): ask the tokenizer for the token's text
        bytes[id] = hf.decode(new long[] {id}, false).getBytes(StandardCharsets.UTF_8);
      }
    }
    return t;
  }

  /** Token ids of {@code text}; special tokens in the text are recognised, none are added. */
  public int[] encode(String text) {
    Encoding encoding = tokenizer.encode(text, false, false);
    long[] ids = encoding.getIds();
    int[] out = new int[ids.length];
    for (int i = 0; i < ids.length; i++) {
      out[i] = (int) ids[i];
    }
    return out;
  }

  /** The id of an added token such as {@code </async>}, or -1. */
  public int addedTokenId(String content) {
    return addedTokens.getOrDefault(content, -1);
  }

  /** The bytes a token stands for. */
  byte[] bytes(int id) {
    return tokenBytes[id];
  }

  /** The text of a whole sequence of tokens. */
  public String decode(int[] ids) {
    Detokenizer d = newDetokenizer();
    StringBuilder sb = new StringBuilder();
    for (int id : ids) {
      sb.append(d.next(id));
    }
    return sb.append(d.finish()).toString();
  }

  public Detokenizer newDetokenizer() {
    return new Detokenizer(this);
  }

  @Override
  public void close() {
    tokenizer.close();
  }

  private static byte[] fromByteLevel(String token, Map<Character, Integer> unicodeToByte) {
    byte[] out = new byte[token.length()];
    for (int i = 0; i < token.length(); i++) {
      Integer b = unicodeToByte.get(token.charAt(i));
      if (b == null) {
        return token.getBytes(StandardCharsets.UTF_8);
      }
      out[i] = (byte) (int) b;
    }
    return out;
  }

  /** GPT-2's byte-to-unicode table, inverted. */
  private static Map<Character, Integer> unicodeToByte() {
    Map<Character, Integer> map = new HashMap<>();
    int n = 0;
    for (int b = 0; b < 256; b++) {
      boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      if (printable) {
        map.put((char) b, b);
      } else {
        map.put((char) (256 + n), b);
        n++;
      }
    }
    return map;
  }
}
