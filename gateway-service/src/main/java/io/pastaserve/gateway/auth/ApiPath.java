package io.pastaserve.gateway.auth;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.Deque;

/**
 * How a request path relates to the API under {@code /v1}, judged on the path as routing could understand it, not
 * on its raw spelling: percent-encoding decoded (an encoded {@code /} or {@code \} counts as a separator),
 * matrix parameters ({@code ;x}) dropped, empty and {@code .} segments removed, {@code ..} applied, and the first
 * segment compared without regard to case. A raw path that differs from that reading is not plain: under the API
 * it is refused rather than guessed at, so no spelling reaches a route without the key check.
 *
 * @param underApi whether the path, read that way, is {@code /v1} or below it
 * @param plain whether the raw path is already written that way (no encoding, parameters, dot or empty segments)
 */
public record ApiPath(boolean underApi, boolean plain) {

  private static final String API_ROOT = "v1";

  /** Reads {@code raw}, the path of the request line without its query. */
  public static ApiPath of(String raw) {
    String decoded = decode(raw);
    if (decoded == null) {
      // encoding no server would decode: treat it as a path under the API that is not plain, so it is refused
      return new ApiPath(true, false);
    }
    Deque<String> segments = new ArrayDeque<>();
    for (String segment : decoded.replace('\\', '/').split("/")) {
      int parameters = segment.indexOf(';');
      String name = parameters < 0 ? segment : segment.substring(0, parameters);
      if (name.isEmpty() || name.equals(".")) {
        continue;
      }
      if (name.equals("..")) {
        segments.pollLast();
        continue;
      }
      segments.addLast(name);
    }
    boolean underApi = !segments.isEmpty() && segments.peekFirst().equalsIgnoreCase(API_ROOT);
    String normal = "/" + String.join("/", segments);
    return new ApiPath(underApi, raw.equals(normal));
  }

  /** Percent-decoding as UTF-8; null when an escape is broken or the bytes are not UTF-8. */
  private static String decode(String raw) {
    if (raw.indexOf('%') < 0) {
      return raw;
    }
    ByteArrayOutputStream bytes = new ByteArrayOutputStream(raw.length());
    for (int i = 0; i < raw.length(); i++) {
      int c = raw.codePointAt(i);
      if (c == '%') {
        if (i + 2 >= raw.length()) {
          return null;
        }
        int hi = Character.digit(raw.charAt(i + 1), 16);
        int lo = Character.digit(raw.charAt(i + 2), 16);
        if (hi < 0 || lo < 0) {
          return null;
        }
        bytes.write(hi * 16 + lo);
        i += 2;
      } else {
        byte[] b = new String(Character.toChars(c)).getBytes(StandardCharsets.UTF_8);
        bytes.write(b, 0, b.length);
        i += Character.charCount(c) - 1;
      }
    }
    try {
      return StandardCharsets.UTF_8.newDecoder().decode(ByteBuffer.wrap(bytes.toByteArray())).toString();
    } catch (CharacterCodingException e) {
      return null;
    }
  }
}
