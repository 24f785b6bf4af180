package io.pastaserve.gateway.auth;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * The API keys the gateway accepts, kept only as SHA-256 digests. A presented key is hashed and compared with
 * every known digest in constant time ({@link MessageDigest#isEqual}), without stopping at a match, so neither
 * the comparison nor the number of keys checked tells an attacker how close a guess came. Keys never reach a
 * log; a key is named by its position ({@code key-3}) where one must be told apart (rate limits, metrics).
 */
public final class ApiKeys {

  private final List<byte[]> digests;

  private ApiKeys(List<byte[]> digests) {
    this.digests = digests;
  }

  /**
   * Keys from configuration, a file (one per line, {@code #} comments, blank lines ignored) and a comma-separated
   * environment value, in that order; duplicates count once.
   */
  public static ApiKeys load(List<String> configured, String file, String environment) {
    Set<String> keys = new LinkedHashSet<>();
    configured.stream().map(String::strip).filter(k -> !k.isEmpty()).forEach(keys::add);
    if (file != null && !file.isBlank()) {
      try {
        for (String line : Files.readAllLines(Path.of(file), StandardCharsets.UTF_8)) {
          String k = line.strip();
          if (!k.isEmpty() && !k.startsWith("#")) {
            keys.add(k);
          }
        }
      } catch (IOException e) {
        throw new UncheckedIOException("cannot read the API keys file " + file, e);
      }
    }
    if (environment != null) {
      for (String k : environment.split(",")) {
        if (!k.isBlank()) {
          keys.add(k.strip());
        }
      }
    }
    List<byte[]> digests = new ArrayList<>();
    keys.forEach(k -> digests.add(sha256(k)));
    return new ApiKeys(List.copyOf(digests));
  }

  public int size() {
    return digests.size();
  }

  /** The key's name ({@code key-N}, N from 1) when it is one of ours. */
  public Optional<String> match(String presented) {
    byte[] digest = sha256(presented);
    int found = -1;
    for (int i = 0; i < digests.size(); i++) {
      if (MessageDigest.isEqual(digests.get(i), digest)) {
        found = i;
      }
    }
    return found < 0 ? Optional.empty() : Optional.of("key-" + (found + 1));
  }

  private static byte[] sha256(String s) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
