package io.pastaserve.common.lang;

import java.util.List;
import java.util.Objects;
import java.util.OptionalInt;

/**
 * One typed event of PASTA-LANG, as emitted by {@link PastaParser}.
 *
 * <p>Every tag event carries {@code raw}, the exact characters the model wrote, so that a transcript can be
 * reproduced character for character, and {@code defects}: how the tag departed from the grammar and what the
 * parser did about it (empty for a well-formed tag). A malformed tag is still a tag; it never reaches the
 * assembled text.
 */
public sealed interface PastaEvent {

  /** The exact characters this event stands for. */
  String raw();

  /** How this tag departed from the grammar, each with what was done about it; empty when well-formed. */
  List<String> defects();

  /** Ordinary text; never empty. */
  record Text(String text) implements PastaEvent {
    public Text {
      Objects.requireNonNull(text, "text");
      if (text.isEmpty()) {
        throw new IllegalArgumentException("text event must not be empty");
      }
    }

    @Override
    public String raw() {
      return text;
    }

    @Override
    public List<String> defects() {
      return List.of();
    }
  }

  /** {@code <promise topic="T" tokens="N"/>}: a chunk that a forked span will write. */
  record Promise(String topic, OptionalInt predictedTokens, String raw, List<String> defects)
      implements PastaEvent {
    public Promise {
      Objects.requireNonNull(topic, "topic");
      Objects.requireNonNull(predictedTokens, "predictedTokens");
      Objects.requireNonNull(raw, "raw");
      defects = List.copyOf(defects);
    }

    /** A well-formed promise. */
    public Promise(String topic, OptionalInt predictedTokens, String raw) {
      this(topic, predictedTokens, raw, List.of());
    }

    /** The canonical form of a promise tag. */
    public static Promise of(String topic, OptionalInt predictedTokens) {
      String raw = predictedTokens.isPresent()
          ? "<promise topic=\"" + topic + "\" tokens=\"" + predictedTokens.getAsInt() + "\"/>"
          : "<promise topic=\"" + topic + "\"/>";
      return new Promise(topic, predictedTokens, raw);
    }
  }

  /** {@code <async topic="T">}: opens the content of a forked span. */
  record AsyncOpen(String topic, String raw, List<String> defects) implements PastaEvent {
    public AsyncOpen {
      Objects.requireNonNull(topic, "topic");
      Objects.requireNonNull(raw, "raw");
      defects = List.copyOf(defects);
    }

    /** A well-formed opener. */
    public AsyncOpen(String topic, String raw) {
      this(topic, raw, List.of());
    }

    /** The canonical opener the interpreter feeds a fork for a promise of this topic. */
    public static AsyncOpen of(String topic) {
      return new AsyncOpen(topic, "<async topic=\"" + topic + "\">");
    }
  }

  /** {@code </async>}: closes the content of a forked span. */
  record AsyncClose(String raw, List<String> defects) implements PastaEvent {
    public static final String CANONICAL = "</async>";

    public AsyncClose {
      Objects.requireNonNull(raw, "raw");
      defects = List.copyOf(defects);
    }

    /** A well-formed closer. */
    public AsyncClose(String raw) {
      this(raw, List.of());
    }

    public static AsyncClose canonical() {
      return new AsyncClose(CANONICAL);
    }
  }

  /** {@code <sync/>}: the span waits for every fork it has started, then sees their content. */
  record Sync(String raw, List<String> defects) implements PastaEvent {
    public static final String CANONICAL = "<sync/>";

    public Sync {
      Objects.requireNonNull(raw, "raw");
      defects = List.copyOf(defects);
    }

    /** A well-formed sync. */
    public Sync(String raw) {
      this(raw, List.of());
    }

    public static Sync canonical() {
      return new Sync(CANONICAL);
    }
  }

  /**
   * Markup the model got wrong beyond reading: the beginning of a tag that a {@code '<'} cut off before its
   * {@code '>'} (the model abandoned it), or a closer of a tag that has none ({@code </promise>}, {@code
   * </sync>}). It does nothing and is not shown; it stays in the transcript.
   */
  record BrokenTag(String raw, List<String> defects) implements PastaEvent {
    public BrokenTag {
      Objects.requireNonNull(raw, "raw");
      defects = List.copyOf(defects);
    }
  }
}
