package io.pastaserve.common.request;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import java.util.Locale;

/**
 * How a request's forks are executed; both give the same text. On the wire (the API's {@code pasta.mode}, Kafka
 * messages, the request hash in Redis) each mode is its lower-case name: {@code async}, {@code serial}.
 */
public enum Mode {
  /** Forks decode concurrently with their parent, in the same batch. */
  ASYNC,
  /** A fork runs to completion as soon as it is promised; then its parent resumes. */
  SERIAL;

  /** The mode's wire name: {@code async} or {@code serial}. */
  @JsonValue
  public String wire() {
    return name().toLowerCase(Locale.ROOT);
  }

  /**
   * The mode a wire name stands for, in any case and with spaces around it.
   *
   * @throws InvalidSettingException ({@code mode}) for anything else
   */
  @JsonCreator
  public static Mode of(String value) {
    if (value != null) {
      for (Mode m : values()) {
        if (m.wire().equals(value.trim().toLowerCase(Locale.ROOT))) {
          return m;
        }
      }
    }
    throw new InvalidSettingException("mode", "mode must be \"async\" or \"serial\", not "
        + (value == null ? "null" : "\"" + value + "\""));
  }

  @Override
  public String toString() {
    return wire();
  }
}
