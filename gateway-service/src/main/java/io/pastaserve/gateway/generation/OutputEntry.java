package io.pastaserve.gateway.generation;

import java.util.Map;

/**
 * One entry of a request's output stream (written by the interpreter service): text in final order, or the final
 * entry with the finish reason and what the request cost.
 *
 * @param id the stream entry's id (what {@code Last-Event-ID} names)
 * @param fields the entry's fields: {@code type} ({@code text} or {@code done}), {@code text}; for {@code done}:
 *     {@code finishReason}, {@code error}, {@code promptTokens}, {@code completionTokens}, {@code
 *     criticalPathTokens}, {@code forks}, {@code annotated}, {@code spans} (JSON)
 */
public record OutputEntry(String id, Map<String, String> fields) {

  public OutputEntry {
    fields = Map.copyOf(fields);
  }

  /** Not an entry: a read found nothing new (readers use it to keep a connection's liveness in view). */
  public static final OutputEntry IDLE = new OutputEntry("", Map.of("type", "idle"));

  public boolean isIdle() {
    return "idle".equals(fields.get("type"));
  }

  public boolean isDone() {
    return "done".equals(fields.get("type"));
  }

  /** A {@code span} entry: one span's progress as JSON (see the API reference), for live views. */
  public boolean isSpan() {
    return "span".equals(fields.get("type"));
  }

  public String text() {
    return "text".equals(fields.get("type")) ? fields.getOrDefault("text", "") : "";
  }

  public String field(String name) {
    return fields.getOrDefault(name, "");
  }

  public long number(String name) {
    String v = fields.get(name);
    if (v == null || v.isEmpty()) {
      return 0;
    }
    try {
      return Long.parseLong(v);
    } catch (NumberFormatException e) {
      return 0;
    }
  }
}
