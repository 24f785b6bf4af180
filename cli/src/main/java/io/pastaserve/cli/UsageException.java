package io.pastaserve.cli;

/** Bad arguments: reported as one line on stderr with exit status 2. */
public final class UsageException extends Exception {

  public UsageException(String message) {
    super(message);
  }
}
