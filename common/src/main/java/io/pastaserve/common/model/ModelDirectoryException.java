package io.pastaserve.common.model;

/** A model directory that does not meet {@code docs/model-contract.md}; the message says what is wrong. */
public final class ModelDirectoryException extends IllegalStateException {

  public ModelDirectoryException(String message) {
    super(message);
  }

  public ModelDirectoryException(String message, Throwable cause) {
    super(message, cause);
  }
}
