package io.pastaserve.common.request;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import java.util.Locale;
import java.util.Optional;

/**
 * Why a request ended: what the worker's engine decides, what the finish event carries over Kafka, what the final
 * entry of the output stream says, and (for {@link #STOP} and {@link #LENGTH}, the answers) the API's {@code
 * finish_reason}. On the wire each reason is its lower-case name.
 */
public enum FinishReason {
  /** The model ended its answer (end of sequence), or the answer reached a stop string. */
  STOP,
  /** {@code max_tokens} or the context ran out. */
  LENGTH,
  /** Cancelled (the caller went away, its deadline passed, or someone cancelled it). */
  CANCELLED,
  /** The request failed (its own work, a forward pass only it fails, its state lost); the error says why. */
  ERROR;

  /** The reason's wire name: {@code stop}, {@code length}, {@code cancelled} or {@code error}. */
  @JsonValue
  public String wire() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** Whether the request ended with an answer (stop or length): one that must be whole, and that a client gets. */
  public boolean isAnswer() {
    return this == STOP || this == LENGTH;
  }

  /** The reason a wire name stands for, or empty for a name no reason has. */
  public static Optional<FinishReason> fromWire(String value) {
    for (FinishReason r : values()) {
      if (r.wire().equals(value)) {
        return Optional.of(r);
      }
    }
    return Optional.empty();
  }

  /**
   * The reason a wire name stands for.
   *
   * @throws InvalidSettingException ({@code finish_reason}) for a name no reason has
   */
  @JsonCreator
  public static FinishReason of(String value) {
    return fromWire(value).orElseThrow(() -> new InvalidSettingException("finish_reason",
        "finish_reason must be stop, length, cancelled or error, not \"" + value + "\""));
  }

  @Override
  public String toString() {
    return wire();
  }
}
