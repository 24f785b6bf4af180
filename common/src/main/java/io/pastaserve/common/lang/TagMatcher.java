package io.pastaserve.common.lang;

import java.util.OptionalInt;

/**
 * Decides whether a candidate (text starting with {@code '<'}) is a complete well-formed tag, could still
 * become one with more characters, or cannot be one. The grammar is in {@code docs/pasta-lang.md}:
 *
 * <pre>
 * promise  = "&lt;promise" WS+ attr (WS+ attr)* WS* "/&gt;"     attr = topic | tokens, topic required, none twice
 * open     = "&lt;async" WS+ topic WS* "&gt;"
 * close    = "&lt;/async" WS* "&gt;"
 * sync     = "&lt;sync" WS* "/&gt;"
 * topic    = "topic=\"" VALUE "\""      VALUE: up to maxTopicLength chars, none of '"' '&lt;' '&gt;' or control
 * tokens   = "tokens=\"" DIGIT{1,9} "\""
 * WS       = ' ' | '\t'
 * </pre>
 *
 * Every tag ends at its first {@code '>'}, so completion is unambiguous. Not thread-safe; one per parser.
 */
final class TagMatcher {

  enum Status { PREFIX, FAIL, COMPLETE }

  private static final int MAX_DIGITS = 9;

  private final int maxTopicLength;
  private CharSequence s;
  private int n;
  private int i;
  private boolean incomplete;
  private PastaEvent event;

  TagMatcher(int maxTopicLength) {
    this.maxTopicLength = maxTopicLength;
  }

  /** The tag matched by the last {@link #match} that returned {@link Status#COMPLETE}. */
  PastaEvent event() {
    return event;
  }

  Status match(CharSequence candidate) {
    s = candidate;
    n = candidate.length();
    i = 0;
    incomplete = false;
    event = null;
    boolean ok = lit("<") && tag();
    if (ok) {
      // every alternative ends at its '>', which is the candidate's last character when it completes
      return i == n ? Status.COMPLETE : Status.FAIL;
    }
    return incomplete ? Status.PREFIX : Status.FAIL;
  }

  private boolean tag() {
    if (i == n) {
      incomplete = true;
      return false;
    }
    return switch (s.charAt(i)) {
      case 'p' -> promise();
      case 'a' -> open();
      case '/' -> close();
      case 's' -> sync();
      default -> false;
    };
  }

  private boolean promise() {
    if (!lit("promise") || !ws1()) {
      return false;
    }
    String topic = null;
    int tokens = -1;
    while (true) {
      String name = attributeName();
      if (name == null) {
        return false;
      }
      if (name.equals("topic")) {
        if (topic != null) {
          return false;
        }
        topic = quotedTopic();
        if (topic == null) {
          return false;
        }
      } else {
        if (tokens >= 0) {
          return false;
        }
        tokens = quotedDigits();
        if (tokens < 0) {
          return false;
        }
      }
      int spaces = ws();
      if (i == n) {
        incomplete = true;
        return false;
      }
      if (s.charAt(i) == '/') {
        if (!lit("/>")) {
          return false;
        }
        if (topic == null) {
          return false;
        }
        event = new PastaEvent.Promise(topic,
            tokens >= 0 ? OptionalInt.of(tokens) : OptionalInt.empty(), s.subSequence(0, i).toString());
        return true;
      }
      if (spaces == 0) {
        return false;
      }
    }
  }

  private boolean open() {
    if (!lit("async") || !ws1() || !lit("topic=")) {
      return false;
    }
    String topic = quotedTopic();
    if (topic == null) {
      return false;
    }
    ws();
    if (!lit(">")) {
      return false;
    }
    event = new PastaEvent.AsyncOpen(topic, s.subSequence(0, i).toString());
    return true;
  }

  private boolean close() {
    if (!lit("/async")) {
      return false;
    }
    ws();
    if (!lit(">")) {
      return false;
    }
    event = new PastaEvent.AsyncClose(s.subSequence(0, i).toString());
    return true;
  }

  private boolean sync() {
    if (!lit("sync")) {
      return false;
    }
    ws();
    if (!lit("/>")) {
      return false;
    }
    event = new PastaEvent.Sync(s.subSequence(0, i).toString());
    return true;
  }

  /** Reads {@code topic=} or {@code tokens=}; null when neither can follow. */
  private String attributeName() {
    if (i == n) {
      incomplete = true;
      return null;
    }
    // "topic=" and "tokens=" share "to"; the third character decides
    if (!lit("to")) {
      return null;
    }
    if (i == n) {
      incomplete = true;
      return null;
    }
    char c = s.charAt(i);
    if (c == 'p') {
      return lit("pic=") ? "topic" : null;
    }
    if (c == 'k') {
      return lit("kens=") ? "tokens" : null;
    }
    return null;
  }

  private String quotedTopic() {
    if (!lit("\"")) {
      return null;
    }
    int start = i;
    while (true) {
      if (i == n) {
        incomplete = true;
        return null;
      }
      char c = s.charAt(i);
      if (c == '"') {
        String topic = s.subSequence(start, i).toString();
        i++;
        return topic;
      }
      if (c == '<' || c == '>' || c < 0x20 || c == 0x7f || i - start >= maxTopicLength) {
        return null;
      }
      i++;
    }
  }

  private int quotedDigits() {
    if (!lit("\"")) {
      return -1;
    }
    int start = i;
    long value = 0;
    while (true) {
      if (i == n) {
        incomplete = true;
        return -1;
      }
      char c = s.charAt(i);
      if (c == '"') {
        if (i == start) {
          return -1;
        }
        i++;
        return (int) value;
      }
      if (c < '0' || c > '9' || i - start >= MAX_DIGITS) {
        return -1;
      }
      value = value * 10 + (c - '0');
      i++;
    }
  }

  private boolean lit(String literal) {
    for (int k = 0; k < literal.length(); k++) {
      if (i == n) {
        incomplete = true;
        return false;
      }
      if (s.charAt(i) != literal.charAt(k)) {
        return false;
      }
      i++;
    }
    return true;
  }

  private int ws() {
    int start = i;
    while (i < n && (s.charAt(i) == ' ' || s.charAt(i) == '\t')) {
      i++;
    }
    return i - start;
  }

  private boolean ws1() {
    if (i == n) {
      incomplete = true;
      return false;
    }
    return ws() > 0;
  }
}
