package io.pastaserve.common.lang;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.OptionalInt;

/**
 * Reads a tag whose extent {@link TagMatcher} has found, leniently: whatever its attributes, quoting or spacing,
 * the result is the tag its name says, with each departure from the grammar of {@code docs/pasta-lang.md}
 * listed as a defect. The well-formed grammar:
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
 * Leniently, attributes are {@code name}, {@code name=value} with the value in double quotes, single quotes or
 * none, separated by any white space. The first topic is kept, cleaned of what an opener cannot hold and cut to
 * the limit (empty when there is none); a {@code tokens} hint is kept only when written exactly as the grammar
 * says and only once. Stateless.
 */
final class TagReader {

  private static final int MAX_DIGITS = 9;

  private final int maxTopicLength;

  TagReader(int maxTopicLength) {
    this.maxTopicLength = maxTopicLength;
  }

  /** True for the characters that may follow a tag's name. */
  static boolean isDelimiter(char c) {
    return isSpace(c) || c == '/' || c == '>';
  }

  /**
   * Reads {@code raw}, which starts with {@code '<'} and {@code name} and ends at its {@code '>'}, or without
   * one where the text ended.
   */
  PastaEvent read(String name, String raw) {
    Body body = new Body(raw, 1 + name.length());
    List<String> defects = new ArrayList<>();
    if (!body.closed) {
      defects.add("not closed by '>': the tag ends where the text ends");
    }
    return switch (name) {
      case "promise" -> promise(body, raw, defects);
      case "async" -> open(body, raw, defects);
      case "/async" -> close(body, raw, defects);
      case "sync" -> sync(body, raw, defects);
      default -> new PastaEvent.BrokenTag(raw, List.of("<" + name + "> closes nothing: " + name.substring(1)
          + " has no closing tag; removed, no effect"));
    };
  }

  /** The beginning of a tag named {@code name} that a '<' cut off before its '>'. */
  PastaEvent.BrokenTag broken(String name, String raw) {
    return new PastaEvent.BrokenTag(raw, List.of("<" + name + " cut off by '<' before its '>': removed, no effect"));
  }

  private PastaEvent.Promise promise(Body body, String raw, List<String> defects) {
    if (!body.selfClosing && body.closed) {
      defects.add("written with '>' instead of '/>'");
    }
    List<Attribute> attributes = body.attributes(defects);
    String topic = topic(attributes, defects);
    List<Attribute> hints = attributes.stream().filter(a -> a.is("tokens")).toList();
    OptionalInt tokens = OptionalInt.empty();
    if (hints.size() > 1) {
      defects.add("tokens given " + hints.size() + " times: the hint is ignored");
    } else if (hints.size() == 1) {
      Attribute hint = hints.get(0);
      if (!hint.exact()) {
        defects.add("tokens not written as tokens=\"N\": the hint is ignored");
      } else if (!isCount(hint.value)) {
        defects.add("tokens \"" + hint.value + "\" is not a whole number of at most " + MAX_DIGITS
            + " digits: the hint is ignored");
      } else {
        tokens = OptionalInt.of(Integer.parseInt(hint.value));
      }
    }
    unknown(attributes, List.of("topic", "tokens"), defects);
    return new PastaEvent.Promise(topic, tokens, raw, defects);
  }

  private PastaEvent.AsyncOpen open(Body body, String raw, List<String> defects) {
    if (body.selfClosing) {
      defects.add("written with '/>': read as an opener");
    }
    List<Attribute> attributes = body.attributes(defects);
    String topic = topic(attributes, defects);
    unknown(attributes, List.of("topic"), defects);
    return new PastaEvent.AsyncOpen(topic, raw, defects);
  }

  private PastaEvent.AsyncClose close(Body body, String raw, List<String> defects) {
    if (body.selfClosing) {
      defects.add("written with '/>'");
    }
    body.nothingElse(defects);
    return new PastaEvent.AsyncClose(raw, defects);
  }

  private PastaEvent.Sync sync(Body body, String raw, List<String> defects) {
    if (!body.selfClosing && body.closed) {
      defects.add("written with '>' instead of '/>'");
    }
    body.nothingElse(defects);
    return new PastaEvent.Sync(raw, defects);
  }

  /** The first topic, cleaned and cut; empty when there is none. */
  private String topic(List<Attribute> attributes, List<String> defects) {
    List<Attribute> topics = attributes.stream().filter(a -> a.is("topic")).toList();
    if (topics.isEmpty()) {
      defects.add("no topic: the topic is empty");
      return "";
    }
    if (topics.size() > 1) {
      defects.add("topic given " + topics.size() + " times: the first is kept");
    }
    Attribute first = topics.get(0);
    if (!first.exact()) {
      defects.add("topic not written as topic=\"T\": read as \"" + first.value + "\"");
    }
    StringBuilder clean = new StringBuilder(first.value.length());
    for (int k = 0; k < first.value.length(); k++) {
      char c = first.value.charAt(k);
      if (c == '"' || c == '<' || c == '>') {
        continue;
      }
      clean.append(c < 0x20 || c == 0x7f ? ' ' : c);
    }
    if (!clean.toString().equals(first.value)) {
      defects.add("topic held quotes, angle brackets or control characters: taken out");
    }
    if (clean.length() > maxTopicLength) {
      int cut = maxTopicLength;
      if (cut > 0 && Character.isHighSurrogate(clean.charAt(cut - 1))) {
        cut--;
      }
      clean.setLength(cut);
      defects.add("topic longer than " + maxTopicLength + " characters: cut");
    }
    return clean.toString();
  }

  private static void unknown(List<Attribute> attributes, List<String> known, List<String> defects) {
    for (Attribute a : attributes) {
      if (!known.contains(a.name.toLowerCase(Locale.ROOT))) {
        defects.add("unknown attribute \"" + a.name + "\": ignored");
      }
    }
  }

  private static boolean isCount(String value) {
    if (value.isEmpty() || value.length() > MAX_DIGITS) {
      return false;
    }
    for (int k = 0; k < value.length(); k++) {
      if (value.charAt(k) < '0' || value.charAt(k) > '9') {
        return false;
      }
    }
    return true;
  }

  private static boolean isSpace(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
  }

  /** One attribute as written. {@code exact} when it is {@code name="value"}, the name in lower case. */
  private record Attribute(String name, String value, boolean exact) {

    boolean is(String known) {
      return name.equalsIgnoreCase(known);
    }
  }

  /** The characters between a tag's name and its end. */
  private static final class Body {
    final String raw;
    final boolean closed;
    final boolean selfClosing;
    /** Where the attributes begin and end: after the name, before a closing '/>' or '>'. */
    final int start;
    final int end;

    Body(String raw, int start) {
      this.raw = raw;
      this.start = start;
      this.closed = raw.endsWith(">");
      int end = closed ? raw.length() - 1 : raw.length();
      this.selfClosing = closed && end > start && raw.charAt(end - 1) == '/';
      this.end = selfClosing ? end - 1 : end;
    }

    /** For tags without attributes: reports anything but spaces and tabs. */
    void nothingElse(List<String> defects) {
      String rest = raw.substring(start, end);
      if (rest.indexOf('\n') >= 0 || rest.indexOf('\r') >= 0) {
        defects.add("line break inside the tag");
      }
      if (!rest.isBlank()) {
        defects.add("\"" + rest.strip() + "\" inside the tag: ignored");
      }
    }

    List<Attribute> attributes(List<String> defects) {
      List<Attribute> attributes = new ArrayList<>();
      boolean lineBreak = false;
      boolean unseparated = false;
      int i = start;
      while (true) {
        int spaces = i;
        boolean brokenHere = false;
        while (i < end && isSpace(raw.charAt(i))) {
          brokenHere |= raw.charAt(i) == '\n' || raw.charAt(i) == '\r';
          i++;
        }
        lineBreak |= brokenHere;
        if (i == end) {
          break;
        }
        unseparated |= i == spaces;
        int nameStart = i;
        while (i < end && !isSpace(raw.charAt(i)) && raw.charAt(i) != '=') {
          i++;
        }
        String name = raw.substring(nameStart, i);
        int beforeEquals = i;
        while (i < end && isSpace(raw.charAt(i))) {
          i++;
        }
        if (i == end || raw.charAt(i) != '=') {
          // a name without a value; the spaces after it separate the next attribute
          i = beforeEquals;
          attributes.add(new Attribute(name, "", false));
          continue;
        }
        boolean spaced = i > beforeEquals;
        i++;
        int afterEquals = i;
        while (i < end && isSpace(raw.charAt(i))) {
          i++;
        }
        spaced |= i > afterEquals;
        String value;
        boolean doubleQuoted = false;
        if (i < end && (raw.charAt(i) == '"' || raw.charAt(i) == '\'')) {
          char quote = raw.charAt(i);
          int close = raw.indexOf(quote, i + 1);
          if (close < 0 || close >= end) {
            value = raw.substring(i + 1, end);
            i = end;
            defects.add("value of " + name + " has no closing quote");
          } else {
            value = raw.substring(i + 1, close);
            doubleQuoted = quote == '"';
            i = close + 1;
          }
        } else {
          int valueStart = i;
          while (i < end && !isSpace(raw.charAt(i))) {
            i++;
          }
          value = raw.substring(valueStart, i);
        }
        boolean exact = doubleQuoted && !spaced && (name.equals("topic") || name.equals("tokens"));
        attributes.add(new Attribute(name, value, exact));
      }
      if (lineBreak) {
        defects.add("line break inside the tag");
      }
      if (unseparated) {
        defects.add("attributes not set off by white space");
      }
      return attributes;
    }
  }
}
