package io.pastaserve.common.request;

import java.util.Objects;

/**
 * A request setting that cannot be honoured: {@link #field()} names it as the API spells it ({@code top_p}, {@code
 * mode} ...), the message says what was expected. The gateway turns it into a 400 whose {@code param} is that field.
 */
public final class InvalidSettingException extends IllegalArgumentException {

  private final String field;

  public InvalidSettingException(String field, String message) {
    super(message);
    this.field = Objects.requireNonNull(field, "field");
  }

  /** The setting, as the API spells it. */
  public String field() {
    return field;
  }
}
