package io.pastaserve.common.lang;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * Incremental PASTA-LANG parser: feed decoded text piece by piece, receive typed events.
 *
 * <p>A tag may be split at any character across pieces, and one piece may hold several tags or none. Text is
 * emitted as soon as it cannot be the start of a tag; only a possible tag (at most {@link
 * PastaLimits#maxTagLength()} characters) is held back until the next piece or {@link #finish}. Work is linear
 * in the input length. The parser never throws on content: a tag is recognised by its name, whatever its
 * attributes (a malformed one carries its {@link PastaEvent#defects()}; one cut off by a {@code '<'} before its
 * {@code '>'} is a {@link PastaEvent.BrokenTag}), and everything else is {@link PastaEvent.Text}, character
 * for character. A tag is emitted on the character that ends it.
 *
 * <p>One parser per stream of text; not thread-safe.
 */
public final class PastaParser {

  private final PastaLimits limits;
  private final TagMatcher matcher;
  /** A possible tag, starting with '<'; empty when none is pending. */
  private final StringBuilder candidate = new StringBuilder();
  private final StringBuilder text = new StringBuilder();
  private boolean finished;

  public PastaParser(PastaLimits limits) {
    this.limits = limits;
    this.matcher = new TagMatcher(limits.maxTopicLength(), limits.maxTagLength());
  }

  public PastaParser() {
    this(PastaLimits.defaults());
  }

  /** Parses a whole text in one go: the same events as feeding it in any split, with adjacent text merged. */
  public static List<PastaEvent> parseAll(CharSequence whole, PastaLimits limits) {
    PastaParser parser = new PastaParser(limits);
    List<PastaEvent> events = new ArrayList<>();
    parser.acceptAll(whole, events::add);
    parser.finish(events::add);
    return events;
  }

  /** Feeds the next piece of text; events are passed to {@code sink} in order. */
  public void feed(CharSequence piece, Consumer<? super PastaEvent> sink) {
    acceptAll(piece, sink);
    flushText(sink);
  }

  /** Convenience form of {@link #feed(CharSequence, Consumer)}. */
  public List<PastaEvent> feed(CharSequence piece) {
    List<PastaEvent> events = new ArrayList<>();
    feed(piece, events::add);
    return events;
  }

  /** Ends the stream: a tag that has begun ends here; a held-back possible start of one is ordinary text. */
  public void finish(Consumer<? super PastaEvent> sink) {
    if (finished) {
      return;
    }
    finished = true;
    while (candidate.length() > 0) {
      // what is rescanned after a failed candidate may leave another candidate pending
      resolve(matcher.match(candidate, true), sink);
    }
    flushText(sink);
  }

  /** Convenience form of {@link #finish(Consumer)}. */
  public List<PastaEvent> finish() {
    List<PastaEvent> events = new ArrayList<>();
    finish(events::add);
    return events;
  }

  /**
   * A parser in this one's state, going on independently: fed the same text, both emit the same events. Lets a
   * reader try text on the copy before taking it in.
   */
  public PastaParser copy() {
    PastaParser copy = new PastaParser(limits);
    // what is held back is a possible tag, and every beginning of one is too: re-reading it emits nothing
    copy.acceptAll(candidate, event -> { });
    copy.finished = finished;
    return copy;
  }

  /** Characters held back because they may still become a tag. */
  public String pending() {
    return candidate.toString();
  }

  private void acceptAll(CharSequence piece, Consumer<? super PastaEvent> sink) {
    if (finished) {
      throw new IllegalStateException("parser already finished");
    }
    for (int k = 0; k < piece.length(); k++) {
      accept(piece.charAt(k), sink);
    }
  }

  private void accept(char c, Consumer<? super PastaEvent> sink) {
    if (candidate.length() == 0) {
      if (c == '<') {
        candidate.append(c);
      } else {
        text.append(c);
      }
      return;
    }
    candidate.append(c);
    resolve(matcher.match(candidate, false), sink);
  }

  private void resolve(TagMatcher.Status status, Consumer<? super PastaEvent> sink) {
    switch (status) {
      case PREFIX -> { }
      case COMPLETE -> {
        flushText(sink);
        sink.accept(matcher.event());
        candidate.setLength(0);
      }
      case BROKEN -> {
        // the '<' that cut the tag off may begin the next one
        flushText(sink);
        sink.accept(matcher.event());
        candidate.setLength(0);
        candidate.append('<');
      }
      case FAIL -> {
        // the leading '<' is text; whatever followed it may hold the start of another tag
        text.append('<');
        String rest = candidate.substring(1);
        candidate.setLength(0);
        for (int k = 0; k < rest.length(); k++) {
          accept(rest.charAt(k), sink);
        }
      }
    }
  }

  private void flushText(Consumer<? super PastaEvent> sink) {
    if (text.length() > 0) {
      sink.accept(new PastaEvent.Text(text.toString()));
      text.setLength(0);
    }
  }
}
