package io.pastaserve.cli.chaos;

/**
 * Classifies what the client saw of a request against the fault-free answer of the same prompt and mode (greedy
 * decoding, so the text is determined). Pure; no state.
 */
final class OutcomeClassifier {

  private OutcomeClassifier() {
  }

  /**
   * The outcome of {@code response}; {@code reference} is the fault-free text of the same prompt and mode (only
   * read for a completed answer).
   */
  static Outcome classify(Response response, String reference) {
    return switch (response.kind()) {
      case TIMED_OUT -> Outcome.HUNG;
      case CLIENT_CANCELLED -> Outcome.CANCELLED_BY_CLIENT;
      case HTTP_ERROR, STREAM_ERROR -> Outcome.FAILED_CLEAR;
      case BROKEN -> Outcome.BROKEN;
      case COMPLETED -> completed(response, reference);
    };
  }

  private static Outcome completed(Response response, String reference) {
    if (!response.isAnswer()) {
      // a failure is an error status or an error event; an answer with another finish reason is one an OpenAI
      // client takes for a normal answer, so the failure went unsaid
      return Outcome.BROKEN;
    }
    if (reference == null) {
      throw new IllegalArgumentException("no fault-free answer to compare with");
    }
    String text = response.text();
    if (text.equals(reference)) {
      return Outcome.IDENTICAL;
    }
    return isDuplicated(reference, text) ? Outcome.DUPLICATED : Outcome.LOST;
  }

  /**
   * Whether {@code text} is longer than {@code reference} and contains it as a subsequence: every character of the
   * fault-free answer is there, in order, with something repeated between them.
   */
  static boolean isDuplicated(String reference, String text) {
    if (text.length() <= reference.length()) {
      return false;
    }
    int i = 0;
    for (int j = 0; j < text.length() && i < reference.length(); j++) {
      if (text.charAt(j) == reference.charAt(i)) {
        i++;
      }
    }
    return i == reference.length();
  }
}
