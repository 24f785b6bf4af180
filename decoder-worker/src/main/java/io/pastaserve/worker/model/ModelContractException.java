package io.pastaserve.worker.model;

/** A model directory that does not meet {@code docs/model-contract.md}; the message says what is wrong. */
public final class ModelContractException extends RuntimeException {

  public ModelContractException(String message) {
    super(message);
  }

  public ModelContractException(String message, Throwable cause) {
    super(message, cause);
  }
}
