package io.pastaserve.gateway.api;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import java.util.Set;
import org.springframework.http.HttpStatus;

/**
 * The OpenAI request fields this server does not implement, each refused (400, {@code unsupported_parameter},
 * {@code param} naming it) whenever its value would change the answer, rather than ignored: a client that asks for
 * JSON output, penalties, logit biases, log probabilities, tools, an echoed prompt, a suffix or several candidates
 * would otherwise get an answer that silently is not what it asked for. Each field's neutral value (absent, null,
 * the default, an empty list or object) is accepted, so clients that always send the defaults keep working.
 *
 * <p>Fields that change nothing about the answer are accepted and ignored: {@code user}, {@code metadata},
 * {@code store}, {@code service_tier}, {@code safety_identifier}, {@code prompt_cache_key}, {@code
 * parallel_tool_calls} (there are no tools), {@code prediction} (a latency hint; the answer is the same),
 * {@code stream_options.include_obfuscation}. {@code n} is checked by {@link RequestParser}: only 1.
 */
final class UnsupportedParameters {

  private UnsupportedParameters() {
  }

  /** Throws the {@link ApiException} for the first field of {@code root} whose value cannot be honoured. */
  static void check(JsonNode root) {
    JsonNode format = present(root, "response_format");
    if (format != null) {
      if (!format.isObject() || !format.path("type").isTextual()) {
        throw ApiException.invalid("response_format", "response_format must be an object with a type, e.g. "
            + "{\"type\":\"text\"}");
      }
      if (!format.get("type").asText().equals("text")) {
        throw unsupported("response_format", "response_format " + abbreviate(format) + " is not supported: this "
            + "server cannot constrain an answer to JSON; only {\"type\":\"text\"}");
      }
    }
    if (bool(root, "echo")) {
      throw unsupported("echo", "echo is not supported: the answer does not repeat the prompt");
    }
    JsonNode suffix = present(root, "suffix");
    if (suffix != null) {
      if (!suffix.isTextual()) {
        throw ApiException.invalid("suffix", "suffix must be a string");
      }
      if (!suffix.asText().isEmpty()) {
        throw unsupported("suffix", "suffix is not supported: this server does not insert text before a suffix");
      }
    }
    if (integer(root, "best_of") > 1) {
      throw unsupported("best_of", "best_of must be 1: this server generates one candidate per request");
    }
    nonEmpty(root, "logit_bias", "logit_bias is not supported: token probabilities cannot be biased here");
    JsonNode logprobs = present(root, "logprobs");
    if (logprobs != null) {
      if (!logprobs.isBoolean() && !logprobs.isIntegralNumber()) {
        throw ApiException.invalid("logprobs", "logprobs must be true or false (or, for completions, an integer)");
      }
      if (logprobs.isBoolean() ? logprobs.asBoolean() : logprobs.asLong() != 0) {
        throw unsupported("logprobs", "logprobs are not supported by this server");
      }
    }
    if (integer(root, "top_logprobs") > 0) {
      throw unsupported("top_logprobs", "top_logprobs are not supported by this server");
    }
    nonEmpty(root, "tools", "tools are not supported by this server");
    nonEmpty(root, "functions", "functions are not supported by this server");
    choice(root, "tool_choice", "tools are not supported by this server: tool_choice may only be \"none\" or "
        + "\"auto\"");
    choice(root, "function_call", "functions are not supported by this server: function_call may only be "
        + "\"none\" or \"auto\"");
    for (String penalty : List.of("presence_penalty", "frequency_penalty")) {
      JsonNode p = present(root, penalty);
      if (p == null) {
        continue;
      }
      if (!p.isNumber() || !(p.asDouble() >= -2 && p.asDouble() <= 2)) {
        throw ApiException.invalid(penalty, penalty + " must be a number between -2 and 2, not " + abbreviate(p));
      }
      if (p.asDouble() != 0) {
        throw unsupported(penalty, penalty + " is not supported: only 0 (no penalty)");
      }
    }
    if (present(root, "audio") != null) {
      throw unsupported("audio", "audio output is not supported: this model writes text");
    }
    JsonNode modalities = present(root, "modalities");
    if (modalities != null && !(modalities.isArray() && (modalities.isEmpty()
        || modalities.size() == 1 && modalities.get(0).asText().equals("text")))) {
      throw unsupported("modalities", "modalities must be [\"text\"]: this model writes text only");
    }
    if (present(root, "reasoning_effort") != null) {
      throw unsupported("reasoning_effort", "reasoning_effort is not supported: this model does not reason "
          + "before it answers");
    }
    JsonNode verbosity = present(root, "verbosity");
    if (verbosity != null && !verbosity.asText().equals("medium")) {
      throw unsupported("verbosity", "verbosity is not supported: only \"medium\"");
    }
    if (present(root, "web_search_options") != null) {
      throw unsupported("web_search_options", "web search is not supported by this server");
    }
  }

  /** 400 {@code unsupported_parameter}: a valid OpenAI field whose value this server cannot honour. */
  static ApiException unsupported(String param, String message) {
    return new ApiException(HttpStatus.BAD_REQUEST, "invalid_request_error", "unsupported_parameter", param,
        message, null);
  }

  private static JsonNode present(JsonNode root, String field) {
    JsonNode v = root.get(field);
    return v == null || v.isNull() ? null : v;
  }

  private static boolean bool(JsonNode root, String field) {
    JsonNode v = present(root, field);
    if (v == null) {
      return false;
    }
    if (!v.isBoolean()) {
      throw ApiException.invalid(field, field + " must be true or false, not " + abbreviate(v));
    }
    return v.asBoolean();
  }

  /** The field's integer value, 0 when absent. */
  private static long integer(JsonNode root, String field) {
    JsonNode v = present(root, field);
    if (v == null) {
      return 0;
    }
    if (!v.isIntegralNumber() || !v.canConvertToLong() || v.asLong() < 0) {
      throw ApiException.invalid(field, field + " must be a non-negative integer, not " + abbreviate(v));
    }
    return v.asLong();
  }

  /** Refuses a non-empty array or object; an empty one asks for nothing. */
  private static void nonEmpty(JsonNode root, String field, String message) {
    JsonNode v = present(root, field);
    if (v == null) {
      return;
    }
    if (!v.isContainerNode()) {
      throw ApiException.invalid(field, field + " must be an array or object, not " + abbreviate(v));
    }
    if (!v.isEmpty()) {
      throw unsupported(field, message);
    }
  }

  private static final Set<String> NEUTRAL_CHOICES = Set.of("none", "auto");

  /** Refuses a tool choice that asks for a call: anything but {@code "none"} or {@code "auto"} with no tools. */
  private static void choice(JsonNode root, String field, String message) {
    JsonNode v = present(root, field);
    if (v != null && !(v.isTextual() && NEUTRAL_CHOICES.contains(v.asText()))) {
      throw unsupported(field, message);
    }
  }

  private static String abbreviate(JsonNode v) {
    String s = v.toString();
    return s.length() > 40 ? s.substring(0, 40) + "..." : s;
  }
}
