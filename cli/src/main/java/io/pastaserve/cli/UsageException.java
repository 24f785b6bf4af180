package io.pastaserve.cli;

/** Bad arguments: reported as one line on stderr with exit status 2. */
final class UsageException extends Exception {

  UsageException(String message) {
    super(message);
  }
}
