package io.pastaserve.interpreter.program;

import io.pastaserve.common.lang.PastaEvent;
import io.pastaserve.common.lang.PastaLimits;
import io.pastaserve.common.lang.PastaParser;
import io.pastaserve.common.lang.SpanId;
import io.pastaserve.common.messaging.SpanTokensEvent;
import io.pastaserve.common.messaging.TokenItem;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A request's program as the model wrote it: each span's raw text (tags included, {@link TokenItem#raw}), read token
 * by token, in index order, by a {@link PastaParser} of the span's own under the request's limits — the parser the
 * worker reads it with. The forks the worker says a span's tokens started are {@link #check checked} against the
 * promises the parser sees: a token may start forks only for promises its text completes, the first of them (a
 * promise the worker did not fork ran inline: over a limit, or without room in the cache), the span's forks numbered
 * in order ({@code S.1}, {@code S.2} …), each fork at its promise's topic. Malformed tags are read as the worker reads
 * them, never an error.
 *
 * <p>A span's reading needs all of its raw text: from the first token without it (a worker that predates the field)
 * the span is read no further, and its forks are held to the {@link SpanTree} checks only. Rebuilt with the view from
 * the raw text recorded in Redis with each token. Plain Java; mutated only by {@link RequestTracker} under the
 * request's lock (through {@link RequestView}).
 */
final class SpanReadings {

  /** One span's reading. */
  private static final class Reading {
    /** Null once a token came without its raw text: the span is read no further. */
    PastaParser parser;
    /** How many forks the span's recorded tokens started. */
    int forks;
    /** The topic of the promise each of the span's forks was forked at, by fork id. */
    final Map<String, String> forkTopics = new HashMap<>();

    Reading(PastaParser parser) {
      this.parser = parser;
    }
  }

  private final PastaLimits limits;
  private final Map<String, Reading> spans = new HashMap<>();

  SpanReadings(PastaLimits limits) {
    this.limits = limits;
  }

  private Reading reading(String span) {
    return spans.computeIfAbsent(span, s -> new Reading(new PastaParser(limits)));
  }

  /**
   * Why the worker's word about its forks does not fit what the span's raw text says, or empty when it does. Nothing
   * changes here.
   *
   * @param event the event, for the fork's own topic
   * @param fresh the tokens the event records now, in index order (from the span's next, gaps filled)
   * @param tree the span tree, for the topics forks were told at in their own events
   */
  Optional<SpanTree.Refusal> check(SpanTokensEvent event, List<TokenItem> fresh, SpanTree tree) {
    String span = event.spanId();
    SpanId id = SpanId.of(span);
    Optional<String> promised = promisedTopic(id);
    if (!event.topic().isEmpty() && promised.isPresent() && !promised.get().equals(event.topic())) {
      return refused(event, 0, "span " + span + " says it was forked at topic '" + cut(event.topic())
          + "', but the promise in span " + id.parent().orElseThrow() + "'s text has topic '" + cut(promised.get())
          + "'");
    }
    Reading reading = spans.get(span);
    PastaParser parser = reading == null ? new PastaParser(limits) : reading.parser == null ? null
        : reading.parser.copy();
    int forks = reading == null ? 0 : reading.forks;
    for (TokenItem item : fresh) {
      if (parser == null || item.raw() == null) {
        return Optional.empty();
      }
      List<String> topics = promises(parser, item.raw());
      for (int j = 0; j < item.forks().size(); j++) {
        String fork = item.forks().get(j);
        String at = "span " + span + "'s token " + item.index() + " ('" + cut(item.raw()) + "')";
        if (j >= topics.size()) {
          return refused(event, item.index(), at + " started fork " + cut(fork) + ", but "
              + (topics.isEmpty() ? "its text completes no promise" : "its text completes only " + topics.size()
              + " promise(s), and " + j + " of them forked before it"));
        }
        String next = id.child(++forks).path();
        if (!next.equals(fork)) {
          return refused(event, item.index(), at + " started fork " + cut(fork) + " where the span's next fork is "
              + next);
        }
        String told = tree.node(fork).map(n -> n.topic).orElse("");
        if (!told.isEmpty() && !told.equals(topics.get(j))) {
          return refused(event, item.index(), "span " + fork + " says it was forked at topic '" + cut(told)
              + "', but the promise in " + at + " has topic '" + cut(topics.get(j)) + "'");
        }
      }
    }
    return Optional.empty();
  }

  /** Takes in a recorded token of {@code span} (in index order): reads its raw text, notes its forks' topics. */
  void read(String span, TokenItem item) {
    Reading reading = reading(span);
    if (reading.parser == null) {
      return;
    }
    if (item.raw() == null) {
      reading.parser = null;
      return;
    }
    List<String> topics = promises(reading.parser, item.raw());
    for (int j = 0; j < item.forks().size(); j++) {
      reading.forks++;
      if (j < topics.size()) {
        // (a fork beyond the promises is refused when it comes: only one recorded before the checks has none)
        reading.forkTopics.put(item.forks().get(j), topics.get(j));
      }
    }
  }

  /** The topic of the promise {@code fork} was forked at, as its parent's raw text says, when read so far. */
  Optional<String> promisedTopic(SpanId fork) {
    return fork.parent().map(p -> spans.get(p.path())).map(r -> r.forkTopics.get(fork.path()));
  }

  /** The topics of the promises {@code raw} completes, read on by {@code parser}. */
  private static List<String> promises(PastaParser parser, String raw) {
    List<String> topics = new ArrayList<>();
    parser.feed(raw, e -> {
      if (e instanceof PastaEvent.Promise promise) {
        topics.add(promise.topic());
      }
    });
    return topics;
  }

  /** A refusal at the event's token {@code index}: the event's tokens before it are within the program. */
  private static Optional<SpanTree.Refusal> refused(SpanTokensEvent event, int index, String why) {
    int within = 0;
    while (within < event.items().size() && event.items().get(within).index() < index) {
      within++;
    }
    return Optional.of(new SpanTree.Refusal(why, within));
  }

  private static String cut(String s) {
    return s.length() > 40 ? s.substring(0, 40) + "..." : s;
  }
}
