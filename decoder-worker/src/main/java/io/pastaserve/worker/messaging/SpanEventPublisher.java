package io.pastaserve.worker.messaging;

import io.pastaserve.common.lang.SpanId;
import io.pastaserve.common.messaging.SpanEventEnvelope;
import io.pastaserve.common.messaging.SpanTiming;
import io.pastaserve.common.messaging.SpanTokensEvent;
import io.pastaserve.common.messaging.TokenItem;
import io.pastaserve.worker.engine.SpanListener;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Publishes one request's spans as {@link SpanTokensEvent}s: what the spans decoded since the last flush goes out
 * together, as one record (a {@code batch} when several spans moved), at most every {@code flushInterval} and at
 * once when a span ends. Runs on the engine's scheduler thread and never blocks it: envelopes go to the request's
 * {@link SpanEventSender.Channel}, which sends them in order and checks every send.
 */
final class SpanEventPublisher implements SpanListener {

  private final SpanEventSender.Channel channel;
  private final String requestId;
  /** This worker's id, which every event names. */
  private final String workerId;
  private final Map<SpanId, Buffer> buffers = new LinkedHashMap<>();
  private final Map<SpanId, SpanId> parents = new HashMap<>();
  private final long flushNanos;
  private long lastFlush = System.nanoTime();
  private final long startNanos = System.nanoTime();
  private final Map<SpanId, Timing> timings = new LinkedHashMap<>();
  private volatile boolean silenced;

  /** When one span decoded, for {@link #timings()}. */
  private static final class Timing {
    String topic = "";
    int tokens;
    long first = -1;
    long end = -1;
  }

  /**
   * @param workerId the id of this worker, named in every event
   * @param flushInterval how long tokens may wait to be published together (0: every step); spans that end
   *     are published at once
   */
  SpanEventPublisher(SpanEventSender.Channel channel, String requestId, String workerId,
      java.time.Duration flushInterval) {
    this.channel = channel;
    this.requestId = requestId;
    this.workerId = workerId;
    this.flushNanos = flushInterval.toNanos();
  }

  private static final class Buffer {
    final List<TokenItem> items = new ArrayList<>();
    /** Text released when no token is pending (at the end). */
    final StringBuilder trailing = new StringBuilder();
    int index;
    String text = "";
    /** The pending token's text as the model wrote it. */
    String raw = "";
    List<String> forks = new ArrayList<>();
    int token = -1;
    boolean ended;
    boolean dirty;

    void closeToken() {
      if (token >= 0) {
        items.add(TokenItem.of(index, token, text, forks, raw));
        token = -1;
        text = "";
        raw = "";
        forks = new ArrayList<>();
      }
    }
  }

  private Buffer buffer(SpanId span) {
    return buffers.computeIfAbsent(span, s -> new Buffer());
  }

  @Override
  public void onToken(SpanId span, int index, int token) {
    Timing t = timings.computeIfAbsent(span, x -> new Timing());
    t.tokens++;
    if (t.first < 0) {
      t.first = System.nanoTime();
    }
    Buffer b = buffer(span);
    b.closeToken();
    b.index = index;
    b.token = token;
    b.dirty = true;
  }

  @Override
  public void onRawText(SpanId span, String raw) {
    Buffer b = buffer(span);
    if (b.token >= 0) {
      b.raw += raw;
    }
  }

  @Override
  public void onText(SpanId span, String text) {
    Buffer b = buffer(span);
    if (b.token >= 0) {
      b.text += text;
    } else {
      b.trailing.append(text);
    }
    b.dirty = true;
  }

  @Override
  public void onFork(SpanId parent, SpanId child, String topic) {
    Buffer b = buffer(parent);
    b.forks.add(child.path());
    parents.put(child, parent);
    timings.computeIfAbsent(child, x -> new Timing()).topic = topic == null ? "" : topic;
    b.dirty = true;
  }

  /**
   * A fork started on another worker, whose events this publisher sends: its parent and topic, for its events and
   * timings, without a fork claimed in the parent's (that worker claimed it).
   */
  void forkedElsewhere(SpanId parent, SpanId child, String topic) {
    parents.put(child, parent);
    timings.computeIfAbsent(child, x -> new Timing()).topic = topic == null ? "" : topic;
  }

  @Override
  public void onSpanEnd(SpanId span) {
    timings.computeIfAbsent(span, x -> new Timing()).end = System.nanoTime();
    Buffer b = buffer(span);
    b.ended = true;
    b.dirty = true;
  }

  @Override
  public void onStep() {
    long now = System.nanoTime();
    boolean anyEnded = buffers.values().stream().anyMatch(b -> b.dirty && b.ended);
    if (anyEnded || now - lastFlush >= flushNanos) {
      flush();
    }
  }

  /** When each span decoded, in milliseconds from this publisher's creation (the job's arrival). */
  List<SpanTiming> timings() {
    List<SpanTiming> out = new ArrayList<>();
    for (Map.Entry<SpanId, Timing> e : timings.entrySet()) {
      Timing t = e.getValue();
      SpanId parent = parents.get(e.getKey());
      out.add(new SpanTiming(e.getKey().path(), parent == null ? "" : parent.path(), t.topic, t.tokens,
          t.first < 0 ? 0 : (t.first - startNanos) / 1e6, t.end < 0 ? 0 : (t.end - startNanos) / 1e6, workerId));
    }
    return out;
  }

  /** Spans that ended on this worker: decoded here to their end. */
  int spansEnded() {
    return (int) timings.values().stream().filter(t -> t.end >= 0).count();
  }

  /** Sends what each span buffered: one record for all of them. */
  void flush() {
    lastFlush = System.nanoTime();
    List<SpanTokensEvent> events = new ArrayList<>();
    for (Map.Entry<SpanId, Buffer> e : buffers.entrySet()) {
      Buffer b = e.getValue();
      if (!b.dirty) {
        continue;
      }
      b.closeToken();
      SpanId span = e.getKey();
      SpanId parent = parents.get(span);
      Timing timing = timings.get(span);
      events.add(new SpanTokensEvent(SpanTokensEvent.VERSION, requestId, span.path(),
          parent == null ? "" : parent.path(), List.copyOf(b.items), b.trailing.toString(), b.ended, workerId,
          timing == null ? "" : timing.topic, true));
      b.items.clear();
      b.trailing.setLength(0);
      b.dirty = false;
    }
    if (!events.isEmpty()) {
      send(SpanEventEnvelope.of(events));
    }
  }

  /**
   * Publishes nothing from now on: the request goes on elsewhere, and what the engine emits while it stops the
   * request here (closers of cancelled forks) is not part of the answer.
   */
  void silence() {
    silenced = true;
  }

  /**
   * Hands an envelope to the request's channel, after the ones before it. Never blocks; an envelope the channel
   * refuses is not lost silently: the channel has failed, and its failure handler has the request go on elsewhere.
   */
  void send(SpanEventEnvelope envelope) {
    if (!silenced) {
      channel.offer(envelope);
    }
  }

  /** Whether this request's events can no longer be sent from here (its channel failed). */
  boolean failed() {
    return channel.failed();
  }
}
