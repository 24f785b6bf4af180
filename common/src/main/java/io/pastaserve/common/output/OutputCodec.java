package io.pastaserve.common.output;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.pastaserve.common.messaging.SpanTiming;
import io.pastaserve.common.request.FinishReason;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The one encoding of {@link OutputEntry} records as the fields of a Redis stream entry (all strings), used by the
 * interpreter service to write a request's output stream and by the gateway to read it. Every entry has a {@link
 * #TYPE} field:
 *
 * <ul>
 *   <li>{@code text}: {@link #TEXT} — the text</li>
 *   <li>{@code span}: {@link #SPAN} — the {@link OutputEntry.SpanProgress} as JSON ({@link #spanJson}, the
 *       same JSON the API's {@code pasta.span} events carry)</li>
 *   <li>{@code done}: {@code finishReason} (its wire name), {@code error}, {@code promptTokens}, {@code
 *       completionTokens}, {@code criticalPathTokens}, {@code forks}, {@code annotated}, {@code spans} (the span
 *       timings as a JSON array)</li>
 * </ul>
 *
 * <p>Reading is lenient, as a reader of data written by another version must be: a missing or unreadable number is
 * 0, unreadable span timings are none, and an entry of a type this version does not know is skipped. A final entry
 * whose finish reason this version does not know reads as {@link FinishReason#ERROR} saying so, so that its reader
 * ends instead of waiting. Thread-safe.
 */
public final class OutputCodec {

  /** The field every entry has: {@link #TEXT_TYPE}, {@link #SPAN_TYPE} or {@link #DONE_TYPE}. */
  public static final String TYPE = "type";
  /** {@link #TYPE} of an {@link OutputEntry.Text}. */
  public static final String TEXT_TYPE = "text";
  /** {@link #TYPE} of an {@link OutputEntry.SpanProgress}. */
  public static final String SPAN_TYPE = "span";
  /** {@link #TYPE} of an {@link OutputEntry.Done}. */
  public static final String DONE_TYPE = "done";
  /** The field of a text entry that holds its text. */
  public static final String TEXT = "text";
  /** The field of a span entry that holds its progress as JSON. */
  public static final String SPAN = "span";

  /** Lenient: fields a newer writer added (a span timing's, a span entry's) are skipped. */
  private static final ObjectMapper JSON = new ObjectMapper()
      .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);
  private static final TypeReference<List<SpanTiming>> TIMINGS = new TypeReference<>() {
  };

  private OutputCodec() {
  }

  /** The entry's fields, in order, as name, value pairs (what {@code XADD} takes). */
  public static List<String> encode(OutputEntry entry) {
    return switch (entry) {
      case OutputEntry.Text t -> List.of(TYPE, TEXT_TYPE, TEXT, t.text());
      case OutputEntry.SpanProgress s -> List.of(TYPE, SPAN_TYPE, SPAN, spanJson(s));
      case OutputEntry.Done d -> List.of(TYPE, DONE_TYPE, "finishReason", d.finishReason().wire(),
          "error", d.error(), "promptTokens", Integer.toString(d.promptTokens()),
          "completionTokens", Long.toString(d.completionTokens()),
          "criticalPathTokens", Long.toString(d.criticalPathTokens()), "forks", Integer.toString(d.forks()),
          "annotated", d.annotated(), "spans", json(d.spans()));
    };
  }

  /** The entry that stream fields hold; empty for a type this version does not know (skip it). */
  public static Optional<OutputEntry> decode(Map<String, String> fields) {
    String type = fields.getOrDefault(TYPE, "");
    return switch (type) {
      case TEXT_TYPE -> Optional.of(new OutputEntry.Text(fields.getOrDefault(TEXT, "")));
      case SPAN_TYPE -> readSpan(fields.getOrDefault(SPAN, ""));
      case DONE_TYPE -> Optional.of(done(fields));
      default -> Optional.empty();
    };
  }

  /** A span entry's progress as JSON: what the stream holds, and what the API's {@code pasta.span} event carries. */
  public static String spanJson(OutputEntry.SpanProgress span) {
    return json(span);
  }

  private static OutputEntry.Done done(Map<String, String> fields) {
    String reason = fields.getOrDefault("finishReason", "");
    String error = fields.getOrDefault("error", "");
    Optional<FinishReason> known = FinishReason.fromWire(reason);
    if (known.isEmpty()) {
      error = "it ended without a known finish reason ('" + (reason.length() > 40 ? reason.substring(0, 40) + "..."
          : reason) + "')";
    }
    return new OutputEntry.Done(known.orElse(FinishReason.ERROR), error, (int) number(fields, "promptTokens"),
        number(fields, "completionTokens"), number(fields, "criticalPathTokens"), (int) number(fields, "forks"),
        fields.getOrDefault("annotated", ""), timings(fields.getOrDefault("spans", "")));
  }

  private static Optional<OutputEntry> readSpan(String value) {
    try {
      return Optional.of(JSON.readValue(value, OutputEntry.SpanProgress.class));
    } catch (JsonProcessingException | IllegalArgumentException e) {
      return Optional.empty();
    }
  }

  private static List<SpanTiming> timings(String value) {
    if (value.isEmpty()) {
      return List.of();
    }
    try {
      return new ArrayList<>(JSON.readValue(value, TIMINGS));
    } catch (JsonProcessingException | IllegalArgumentException e) {
      return List.of();
    }
  }

  private static long number(Map<String, String> fields, String name) {
    try {
      return Long.parseLong(fields.getOrDefault(name, ""));
    } catch (NumberFormatException e) {
      return 0;
    }
  }

  private static String json(Object value) {
    try {
      return JSON.writeValueAsString(value);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }
}
