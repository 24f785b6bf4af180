package io.pastaserve.common.lang;

/**
 * Limits that bound what model output can make the interpreter do. A promise beyond {@code maxSpans} or
 * {@code maxDepth} is not forked: its chunk is written inline by the promising span (serial execution).
 *
 * @param maxSpans spans per request, the main span included (at least 1)
 * @param maxDepth how deep forks may nest: 0 never forks, 1 lets only the main span fork
 * @param maxTopicLength longest topic, in characters, of a well-formed tag; a longer one is cut to it, and a tag
 *     still open after {@code maxTopicLength + 64} characters is ordinary text
 */
public record PastaLimits(int maxSpans, int maxDepth, int maxTopicLength) {

  public static final int DEFAULT_MAX_SPANS = 32;
  public static final int DEFAULT_MAX_DEPTH = 1;
  public static final int DEFAULT_MAX_TOPIC_LENGTH = 64;

  public PastaLimits {
    if (maxSpans < 1) {
      throw new IllegalArgumentException("maxSpans must be at least 1, was " + maxSpans);
    }
    if (maxDepth < 0) {
      throw new IllegalArgumentException("maxDepth must not be negative, was " + maxDepth);
    }
    if (maxTopicLength < 0 || maxTopicLength > 4096) {
      throw new IllegalArgumentException("maxTopicLength must be in 0..4096, was " + maxTopicLength);
    }
  }

  public static PastaLimits defaults() {
    return new PastaLimits(DEFAULT_MAX_SPANS, DEFAULT_MAX_DEPTH, DEFAULT_MAX_TOPIC_LENGTH);
  }

  /** How long a tag may stay open, in characters; bounds how much the parser holds back. */
  int maxTagLength() {
    return maxTopicLength + 64;
  }
}
