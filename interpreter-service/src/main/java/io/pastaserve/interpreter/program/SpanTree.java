package io.pastaserve.interpreter.program;

import io.pastaserve.common.lang.PastaLimits;
import io.pastaserve.common.lang.SpanId;
import io.pastaserve.common.messaging.SpanTokensEvent;
import io.pastaserve.common.messaging.TokenItem;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;

/**
 * A request's program as the interpreter holds it: which span forked which, at which promise (its topic), how deep,
 * which worker decoded it and whether it has ended; and the {@link PastaLimits} the request is held to (those its
 * span job carried to the worker). Every span event is {@link #check checked} against it before anything of it is
 * recorded: an event that names a span this tree cannot have — its parent is not the span its id descends from, or
 * is not known, or ended without forking it; it is nested deeper than the limit, would make more spans than the
 * limit, has a topic longer than the limit, or forks a span that is not its own — is refused, and the request ends
 * with an error. Plain Java; mutated only by {@link RequestTracker} under the request's lock (through {@link
 * RequestView}).
 *
 * <p>A span is known once an event of it came, or its parent's tokens named it as a fork. A worker publishes a
 * parent's tokens before its forks' and Kafka keeps a request's events in order, so a fork's parent is known when the
 * fork's first event comes.
 */
final class SpanTree {

  /** Where a span stands, as far as this interpreter has seen. */
  enum Status {
    /** Its parent's tokens forked it; nothing of its own has come yet. */
    FORKED,
    /** Tokens of it came. */
    RUNNING,
    /** It has ended (recorded in order). */
    ENDED
  }

  /** One span of the tree. */
  static final class Node {
    final SpanId id;
    Status status = Status.FORKED;
    /** The promise's topic it was forked at, as its worker read it ("" for the main span or when not told). */
    String topic = "";
    /** The worker whose tokens of it were recorded last ("" when not told). */
    String worker = "";
    /** The forks its tokens started, in order. */
    final Set<SpanId> forks = new LinkedHashSet<>();

    Node(SpanId id) {
      this.id = id;
    }

    /** 0 for the main span, 1 for its forks, and so on. */
    int depth() {
      return id.depth();
    }
  }

  private final PastaLimits limits;
  private final Map<SpanId, Node> nodes = new TreeMap<>();

  SpanTree(PastaLimits limits) {
    this.limits = limits;
    Node main = new Node(SpanId.MAIN);
    main.status = Status.RUNNING;
    nodes.put(SpanId.MAIN, main);
  }

  PastaLimits limits() {
    return limits;
  }

  /** The span, if the tree knows it. */
  Optional<Node> node(String span) {
    return SpanId.valid(span) ? Optional.ofNullable(nodes.get(SpanId.of(span))) : Optional.empty();
  }

  /** The spans the tree knows, the main span first, then in id order. */
  Collection<Node> nodes() {
    return nodes.values();
  }

  /**
   * Why the tree cannot have what an event says.
   *
   * @param why what is wrong, for the request's error
   * @param itemsWithin how many of the event's first tokens are within the program (those before the token whose fork
   *     breaks it; 0 when the span itself does): they are recorded before the request ends
   */
  record Refusal(String why, int itemsWithin) {
  }

  /**
   * Why the tree cannot have what {@code event} says, or empty when it can. Nothing changes here: the caller {@link
   * #accept}s an event that passed.
   */
  Optional<Refusal> check(SpanTokensEvent event) {
    String span = event.spanId();
    if (!SpanId.valid(span)) {
      return refused("a span event names '" + cut(span) + "', which is not a span id", 0);
    }
    SpanId id = SpanId.of(span);
    String expectedParent = id.parent().map(SpanId::path).orElse("");
    if (!expectedParent.equals(event.parentSpanId())) {
      return refused("span " + span + " names '" + cut(event.parentSpanId()) + "' as its parent; only "
          + (expectedParent.isEmpty() ? "none (it is the main span)" : "span " + expectedParent) + " can fork it", 0);
    }
    int spans = nodes.size();
    if (!nodes.containsKey(id)) {
      Node parent = nodes.get(id.parent().orElseThrow());
      if (parent == null) {
        return refused("span " + span + " is a fork of span " + expectedParent + ", which this request does not "
            + "have (its parent is unknown)", 0);
      }
      if (parent.status == Status.ENDED && !parent.forks.contains(id)) {
        return refused("span " + span + " is a fork of span " + expectedParent + ", which ended without forking it",
            0);
      }
      Optional<Refusal> over = overLimits(id, ++spans, 0);
      if (over.isPresent()) {
        return over;
      }
    }
    if (event.topic().length() > limits.maxTopicLength()) {
      return refused("span " + span + " was forked at a topic of " + event.topic().length()
          + " characters; this request allows " + limits.maxTopicLength() + " (pasta.interpreter.max-topic-length)",
          0);
    }
    Set<SpanId> added = new LinkedHashSet<>();
    for (int i = 0; i < event.items().size(); i++) {
      TokenItem item = event.items().get(i);
      for (String fork : item.forks()) {
        Optional<SpanId> forked = SpanId.valid(fork) ? Optional.of(SpanId.of(fork)) : Optional.empty();
        if (forked.flatMap(SpanId::parent).filter(id::equals).isEmpty()) {
          return refused("span " + span + " says its token " + item.index() + " forked '" + cut(fork)
              + "', which is not a fork of span " + span, i);
        }
        if (!nodes.containsKey(forked.get()) && added.add(forked.get())) {
          Optional<Refusal> over = overLimits(forked.get(), ++spans, i);
          if (over.isPresent()) {
            return over;
          }
        }
      }
    }
    return Optional.empty();
  }

  /** Whether a new span {@code id}, making {@code spans} in all, is beyond the depth or span limit. */
  private Optional<Refusal> overLimits(SpanId id, int spans, int itemsWithin) {
    if (id.depth() > limits.maxDepth()) {
      return refused("span " + id + " is nested " + id.depth() + " deep; this request allows " + limits.maxDepth()
          + " (pasta.interpreter.max-depth)", itemsWithin);
    }
    if (spans > limits.maxSpans()) {
      return refused("span " + id + " would make " + spans + " spans; this request allows " + limits.maxSpans()
          + " (pasta.interpreter.max-spans)", itemsWithin);
    }
    return Optional.empty();
  }

  private static Optional<Refusal> refused(String why, int itemsWithin) {
    return Optional.of(new Refusal(why, itemsWithin));
  }

  /** Takes in an event that passed {@link #check}: its span, its topic, and the forks its tokens name. */
  void accept(SpanTokensEvent event) {
    Node node = nodes.computeIfAbsent(SpanId.of(event.spanId()), Node::new);
    if (node.status == Status.FORKED) {
      node.status = Status.RUNNING;
    }
    if (!event.topic().isEmpty()) {
      node.topic = event.topic();
    }
    for (TokenItem item : event.items()) {
      forked(node.id, item.forks());
    }
  }

  /** New tokens of {@code span} from {@code worker} were recorded: it is the worker that decodes the span now. */
  void decodedBy(String span, String worker) {
    if (!worker.isEmpty()) {
      nodes.computeIfAbsent(SpanId.of(span), Node::new).worker = worker;
    }
  }

  /** The span's recorded tokens forked {@code forks}. */
  void forked(SpanId span, List<String> forks) {
    Node node = nodes.computeIfAbsent(span, Node::new);
    for (String fork : forks) {
      SpanId child = SpanId.of(fork);
      node.forks.add(child);
      nodes.computeIfAbsent(child, Node::new);
    }
  }

  /** What Redis recorded of a span: it is known, with its topic and worker (either may be ""). */
  void restore(String span, String topic, String worker) {
    Node node = nodes.computeIfAbsent(SpanId.of(span), Node::new);
    node.status = node.status == Status.ENDED ? Status.ENDED : Status.RUNNING;
    node.topic = topic == null ? "" : topic;
    node.worker = worker == null ? "" : worker;
  }

  /** The span has ended. */
  void ended(String span) {
    nodes.computeIfAbsent(SpanId.of(span), Node::new).status = Status.ENDED;
  }

  /** The worker that decoded {@code span}, or "" when not known. */
  String worker(String span) {
    return node(span).map(n -> n.worker).orElse("");
  }

  private static String cut(String s) {
    return s.length() > 40 ? s.substring(0, 40) + "..." : s;
  }
}
