package io.pastaserve.gateway.api;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.pastaserve.common.request.InvalidSettingException;
import io.pastaserve.common.request.Mode;
import io.pastaserve.common.request.Sampling;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.springframework.http.HttpStatus;

/**
 * Reads a completion request's JSON into a {@link CompletionRequest}, with a 400 naming the field ({@code param})
 * and what was expected for anything it cannot accept. OpenAI fields whose value would change the answer and that
 * this server does not implement are refused, not ignored ({@link UnsupportedParameters}); {@code n} must be 1.
 * A request without a {@code seed} gets a random one ({@link #drawSeed}). This class applies the API's own limits
 * (types, ranges, how many stop strings); the settings themselves are validated once, by {@link Sampling} and {@link
 * Mode}, whose errors become a 400 naming the field too.
 *
 * <p>Chat messages become one prompt: the bundled model's template is single-turn, so the contents of the
 * messages are joined, in order, with a blank line between them.
 */
final class RequestParser {

  private static final Set<String> ROLES = Set.of("system", "developer", "user", "assistant");
  static final int MAX_STOP = 4;

  private final ObjectMapper json;
  private final int defaultMaxTokens;
  private final int maxTokensLimit;

  RequestParser(ObjectMapper json, int defaultMaxTokens, int maxTokensLimit) {
    this.json = json;
    this.defaultMaxTokens = defaultMaxTokens;
    this.maxTokensLimit = maxTokensLimit;
  }

  CompletionRequest parse(byte[] body, boolean chat) {
    if (body.length == 0) {
      throw new ApiException(HttpStatus.BAD_REQUEST, "invalid_request_error", "invalid_json", null,
          "the request body is empty; send a JSON object", null);
    }
    JsonNode root;
    try {
      root = json.readTree(body);
    } catch (JsonProcessingException e) {
      throw new ApiException(HttpStatus.BAD_REQUEST, "invalid_request_error", "invalid_json", null,
          "the request body is not valid JSON: " + e.getOriginalMessage(), null);
    } catch (java.io.IOException e) {
      throw new ApiException(HttpStatus.BAD_REQUEST, "invalid_request_error", "invalid_json", null,
          "the request body cannot be read as JSON", null);
    }
    if (root == null || !root.isObject()) {
      throw new ApiException(HttpStatus.BAD_REQUEST, "invalid_request_error", "invalid_json", null,
          "the request body must be a JSON object", null);
    }
    String model = requiredString(root, "model");
    String prompt = chat ? messages(root) : prompt(root);
    Integer maxTokens = optionalInt(root, "max_completion_tokens", 1, maxTokensLimit);
    if (maxTokens == null) {
      maxTokens = optionalInt(root, "max_tokens", 1, maxTokensLimit);
    }
    Double temperature = optionalNumber(root, "temperature", 0, 2);
    Double topP = optionalNumber(root, "top_p", 0, 1);
    Long seed = optionalLong(root, "seed");
    Integer n = optionalInt(root, "n", 1, Integer.MAX_VALUE);
    if (n != null && n != 1) {
      throw ApiException.invalid("n", "n must be 1: one answer per request is supported, not " + n);
    }
    boolean stream = optionalBoolean(root, "stream", false);
    boolean includeUsage = false;
    JsonNode options = root.get("stream_options");
    if (options != null && !options.isNull()) {
      if (!options.isObject()) {
        throw ApiException.invalid("stream_options", "stream_options must be an object");
      }
      if (!stream) {
        throw ApiException.invalid("stream_options", "stream_options is only allowed when stream is true");
      }
      includeUsage = optionalBoolean(options, "include_usage", "stream_options.include_usage", false);
    }
    String user = optionalString(root, "user");
    UnsupportedParameters.check(root);
    Mode mode = Mode.ASYNC;
    boolean includeAnnotated = false;
    long timeoutMs = 0;
    boolean streamSpans = false;
    boolean resumable = false;
    JsonNode pasta = root.get("pasta");
    if (pasta != null && !pasta.isNull()) {
      if (!pasta.isObject()) {
        throw ApiException.invalid("pasta", "pasta must be an object, e.g. {\"mode\":\"serial\"}");
      }
      JsonNode m = pasta.get("mode");
      if (m != null && !m.isNull()) {
        try {
          mode = Mode.of(m.isTextual() ? m.asText() : null);
        } catch (InvalidSettingException e) {
          throw ApiException.invalid("pasta.mode", "pasta.mode must be \"async\" or \"serial\", not " + m);
        }
      }
      includeAnnotated = optionalBoolean(pasta, "include_annotated", "pasta.include_annotated", false);
      streamSpans = optionalBoolean(pasta, "stream_spans", "pasta.stream_spans", false);
      if (streamSpans && !stream) {
        throw ApiException.invalid("pasta.stream_spans", "pasta.stream_spans is only allowed when stream is true");
      }
      resumable = optionalBoolean(pasta, "resumable", "pasta.resumable", false);
      if (resumable && !stream) {
        throw ApiException.invalid("pasta.resumable", "pasta.resumable is only allowed when stream is true");
      }
      JsonNode t = pasta.get("timeout_ms");
      if (t != null && !t.isNull()) {
        if (!t.isIntegralNumber() || !t.canConvertToLong() || t.asLong() < 1) {
          throw ApiException.invalid("pasta.timeout_ms", "pasta.timeout_ms must be a positive integer, not "
              + abbreviate(t));
        }
        timeoutMs = t.asLong();
      }
    }
    Sampling sampling = sampling(temperature == null ? 1.0 : temperature, topP == null ? 1.0 : topP,
        seed == null ? drawSeed() : seed, maxTokens == null ? Math.min(defaultMaxTokens, maxTokensLimit) : maxTokens,
        stop(root));
    return new CompletionRequest(chat, model, prompt, sampling, stream, includeUsage, user, mode, includeAnnotated,
        streamSpans, resumable, timeoutMs);
  }

  /** The request's sampling settings; a setting they refuse is a 400 naming it. */
  private static Sampling sampling(double temperature, double topP, long seed, int maxTokens, List<String> stop) {
    try {
      return new Sampling(temperature, topP, 0, seed, maxTokens, stop);
    } catch (InvalidSettingException e) {
      throw ApiException.invalid(e.field(), e.getMessage());
    }
  }

  /**
   * The seed of a request that gave none: drawn at random, so that sampled answers differ from request to request as
   * clients expect (the response reports it, and sent back it gives the same answer); below 2^53, so that a
   * client in JavaScript, whose numbers are doubles, sends it back exactly.
   */
  static long drawSeed() {
    return java.util.concurrent.ThreadLocalRandom.current().nextLong(1L << 53);
  }

  private String messages(JsonNode root) {
    JsonNode messages = root.get("messages");
    if (messages == null || messages.isNull()) {
      throw ApiException.invalid("messages", "messages is required: a non-empty array of {role, content}");
    }
    if (!messages.isArray() || messages.isEmpty()) {
      throw ApiException.invalid("messages", "messages must be a non-empty array of {role, content}");
    }
    List<String> parts = new ArrayList<>();
    for (int i = 0; i < messages.size(); i++) {
      JsonNode m = messages.get(i);
      String where = "messages[" + i + "]";
      if (!m.isObject()) {
        throw ApiException.invalid(where, where + " must be an object with role and content");
      }
      JsonNode role = m.get("role");
      if (role == null || !role.isTextual() || !ROLES.contains(role.asText())) {
        throw ApiException.invalid(where + ".role", where + ".role must be one of " + ROLES.stream().sorted()
            .toList() + ", not " + role);
      }
      String content = content(m.get("content"), where + ".content");
      if (!content.isEmpty()) {
        parts.add(content);
      }
    }
    if (parts.isEmpty()) {
      throw ApiException.invalid("messages", "the messages have no text");
    }
    return String.join("\n\n", parts);
  }

  private static String content(JsonNode content, String where) {
    if (content == null || content.isNull()) {
      return "";
    }
    if (content.isTextual()) {
      return content.asText();
    }
    if (content.isArray()) {
      StringBuilder sb = new StringBuilder();
      for (int i = 0; i < content.size(); i++) {
        JsonNode part = content.get(i);
        if (!part.isObject() || !"text".equals(part.path("type").asText()) || !part.path("text").isTextual()) {
          throw ApiException.invalid(where + "[" + i + "]",
              where + "[" + i + "] must be {\"type\":\"text\",\"text\":...}: only text content is supported");
        }
        sb.append(part.get("text").asText());
      }
      return sb.toString();
    }
    throw ApiException.invalid(where, where + " must be a string or an array of text parts");
  }

  private static String prompt(JsonNode root) {
    JsonNode p = root.get("prompt");
    if (p == null || p.isNull()) {
      throw ApiException.invalid("prompt", "prompt is required: a string");
    }
    if (p.isTextual()) {
      if (p.asText().isEmpty()) {
        throw ApiException.invalid("prompt", "prompt must not be empty");
      }
      return p.asText();
    }
    if (p.isArray() && p.size() == 1 && p.get(0).isTextual() && !p.get(0).asText().isEmpty()) {
      return p.get(0).asText();
    }
    throw ApiException.invalid("prompt", "prompt must be a non-empty string (or an array of exactly one)");
  }

  private static List<String> stop(JsonNode root) {
    JsonNode s = root.get("stop");
    if (s == null || s.isNull()) {
      return List.of();
    }
    if (s.isTextual()) {
      if (s.asText().isEmpty()) {
        throw ApiException.invalid("stop", "stop strings must not be empty");
      }
      return List.of(s.asText());
    }
    if (s.isArray() && s.size() <= MAX_STOP) {
      List<String> out = new ArrayList<>();
      for (JsonNode e : s) {
        if (!e.isTextual() || e.asText().isEmpty()) {
          throw ApiException.invalid("stop", "stop must be a string or an array of up to 4 non-empty strings");
        }
        out.add(e.asText());
      }
      return out;
    }
    throw ApiException.invalid("stop", "stop must be a string or an array of up to 4 non-empty strings");
  }

  private static String requiredString(JsonNode root, String field) {
    JsonNode v = root.get(field);
    if (v == null || v.isNull()) {
      throw ApiException.invalid(field, field + " is required");
    }
    if (!v.isTextual() || v.asText().isBlank()) {
      throw ApiException.invalid(field, field + " must be a non-empty string");
    }
    return v.asText();
  }

  private static String optionalString(JsonNode root, String field) {
    JsonNode v = root.get(field);
    if (v == null || v.isNull()) {
      return "";
    }
    if (!v.isTextual()) {
      throw ApiException.invalid(field, field + " must be a string");
    }
    return v.asText();
  }

  private static boolean optionalBoolean(JsonNode root, String field, boolean fallback) {
    return optionalBoolean(root, field, field, fallback);
  }

  private static boolean optionalBoolean(JsonNode root, String field, String param, boolean fallback) {
    JsonNode v = root.get(field);
    if (v == null || v.isNull()) {
      return fallback;
    }
    if (!v.isBoolean()) {
      throw ApiException.invalid(param, param + " must be true or false, not " + abbreviate(v));
    }
    return v.asBoolean();
  }

  private static Integer optionalInt(JsonNode root, String field, int min, int max) {
    JsonNode v = root.get(field);
    if (v == null || v.isNull()) {
      return null;
    }
    if (!v.isIntegralNumber() && !(v.isNumber() && v.asDouble() == Math.rint(v.asDouble()))) {
      throw ApiException.invalid(field, field + " must be an integer, not " + abbreviate(v));
    }
    if (!v.canConvertToLong() || v.asLong() < min || v.asLong() > max) {
      throw ApiException.invalid(field, field + " must be between " + min + " and " + max + ", not "
          + abbreviate(v));
    }
    return (int) v.asLong();
  }

  private static Long optionalLong(JsonNode root, String field) {
    JsonNode v = root.get(field);
    if (v == null || v.isNull()) {
      return null;
    }
    if (!v.isIntegralNumber() || !v.canConvertToLong()) {
      throw ApiException.invalid(field, field + " must be a 64-bit integer, not " + abbreviate(v));
    }
    return v.asLong();
  }

  private static Double optionalNumber(JsonNode root, String field, double min, double max) {
    JsonNode v = root.get(field);
    if (v == null || v.isNull()) {
      return null;
    }
    if (!v.isNumber()) {
      throw ApiException.invalid(field, field + " must be a number, not " + abbreviate(v));
    }
    double d = v.asDouble();
    if (!(d >= min && d <= max)) {
      throw ApiException.invalid(field, field + " must be between " + fmt(min) + " and " + fmt(max) + ", not "
          + abbreviate(v));
    }
    return d;
  }

  private static String fmt(double d) {
    return d == Math.rint(d) ? Long.toString((long) d) : Double.toString(d);
  }

  private static String abbreviate(JsonNode v) {
    String s = v.toString();
    return s.length() > 40 ? s.substring(0, 40) + "..." : s;
  }
}
