package io.pastaserve.worker.model;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/**
 * Turns one span's tokens into text as they come: bytes of a character split across tokens are held until the
 * character is complete. One per span; not thread-safe.
 */
public final class Detokenizer {

  private final Tokenizer tokenizer;
  private final ByteArrayOutputStream pending = new ByteArrayOutputStream();

  Detokenizer(Tokenizer tokenizer) {
    this.tokenizer = tokenizer;
  }

  /** The text that token {@code id} completes (may be empty). */
  public String next(int id) {
    pending.writeBytes(tokenizer.bytes(id));
    byte[] bytes = pending.toByteArray();
    int complete = completePrefix(bytes);
    pending.reset();
    pending.write(bytes, complete, bytes.length - complete);
    return new String(bytes, 0, complete, StandardCharsets.UTF_8);
  }

  /** Whatever is still held, as text (an incomplete character becomes U+FFFD). */
  public String finish() {
    String rest = pending.toString(StandardCharsets.UTF_8);
    pending.reset();
    return rest;
  }

  /** Length of the longest prefix that does not end inside a UTF-8 sequence that may still complete. */
  static int completePrefix(byte[] b) {
    int n = b.length;
    // look back at most 3 bytes for the lead byte of an unfinished sequence
    for (int back = 1; back <= Math.min(3, n); back++) {
      int c = b[n - back] & 0xFF;
      if ((c & 0xC0) == 0x80) {
        continue;
      }
      int need = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 1;
      return need > back ? n - back : n;
    }
    return n;
  }
}
