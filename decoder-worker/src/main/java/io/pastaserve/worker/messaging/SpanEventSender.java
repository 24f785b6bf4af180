package io.pastaserve.worker.messaging;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.pastaserve.common.messaging.SpanEventEnvelope;
import io.pastaserve.common.messaging.SpanTokensEvent;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.kafka.core.KafkaTemplate;
import org.springframework.stereotype.Component;

/**
 * Sends the span events of the requests running here, off the engine's thread, checking every send.
 *
 * <p>The engine hands each envelope to its request's {@link Channel} and goes on at once: whatever the broker does
 * (away, slow, refusing), no engine step waits for it. One sender thread drains the channels. A request has at most
 * one record in flight; what its spans decode meanwhile waits in its channel and leaves with its next record (the
 * tokens events of several envelopes travel as one {@code batch}), so the interpreter receives a request's events in
 * the order they were decoded and never one after a gap. A record that fails is sent again, after a pause that
 * grows to a few seconds, until {@code event-delivery-timeout} has passed since its first attempt; then the channel
 * fails: nothing more of the request is sent, and its failure handler hands the request to another worker, which
 * resumes it from what the interpreter recorded. A record may arrive twice (sent again after a timeout that the
 * broker had in fact written); the interpreter applies tokens by index, so the answer does not change.
 *
 * <p>Envelopes wait here up to {@code event-queue-capacity} in all; an offer beyond it is refused and fails its
 * channel the same way.
 */
@Component
final class SpanEventSender implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(SpanEventSender.class);
  /** Envelopes of one request that may leave as one record (keeps records far below the broker's size limit). */
  static final int MAX_ENVELOPES_PER_RECORD = 32;
  private static final long FIRST_PAUSE_MS = 100;
  private static final long LONGEST_PAUSE_MS = 5_000;

  private final KafkaTemplate<String, String> kafka;
  private final ObjectMapper json;
  private final String topic;
  private final int capacity;
  private final long deliveryTimeoutNanos;
  private final AtomicInteger pending = new AtomicInteger();
  private final Counter failedSends;
  private final Counter failedRequests;
  private final ScheduledExecutorService thread = Executors.newSingleThreadScheduledExecutor(r -> {
    Thread t = new Thread(r, "span-event-sender");
    t.setDaemon(true);
    return t;
  });
  /** Notified whenever envelopes leave (sent or dropped), for {@link #drain}. */
  private final Object drained = new Object();

  SpanEventSender(KafkaTemplate<String, String> kafka, ObjectMapper json, MessagingProperties properties,
      MeterRegistry registry) {
    this.kafka = kafka;
    this.json = json;
    this.topic = properties.spanEventsTopic();
    this.capacity = properties.eventQueueCapacity();
    this.deliveryTimeoutNanos = properties.eventDeliveryTimeout().toNanos();
    Gauge.builder("pasta.worker.span.events.pending", pending, AtomicInteger::get)
        .description("span events waiting to be sent (broker slow or away)").register(registry);
    this.failedSends = Counter.builder("pasta.worker.span.events.send.failures")
        .description("span event records the broker did not take (each is sent again)").register(registry);
    this.failedRequests = Counter.builder("pasta.worker.span.events.failed.requests")
        .description("requests handed to other workers because their span events could not be sent in time")
        .register(registry);
  }

  /**
   * A channel for one request's envelopes.
   *
   * @param onFailure runs once, with the reason, when the request's events cannot be sent in time (on a thread of
   *     the sender or of the caller of {@link Channel#offer}; keep it quick)
   */
  Channel open(String requestId, Consumer<String> onFailure) {
    return new Channel(requestId, onFailure);
  }

  /** Envelopes waiting to be sent, all requests together. */
  int pending() {
    return pending.get();
  }

  /** Waits until every envelope handed over has been sent or dropped, or {@code timeout} passes; true when so. */
  boolean drain(Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    synchronized (drained) {
      while (pending.get() > 0) {
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          return false;
        }
        drained.wait(Math.max(1, TimeUnit.NANOSECONDS.toMillis(left)));
      }
    }
    return true;
  }

  private void left(int envelopes) {
    pending.addAndGet(-envelopes);
    synchronized (drained) {
      drained.notifyAll();
    }
  }

  @Override
  public void close() {
    thread.shutdownNow();
  }

  /** What the broker or the producer said, under the template's wrapping. */
  private static String cause(Throwable error) {
    Throwable t = error;
    while (t.getCause() != null && t.getCause() != t) {
      t = t.getCause();
    }
    return t == error ? String.valueOf(error.getMessage()) : error.getMessage() + ": " + t.getMessage();
  }

  /** One record on its way: envelopes merged, and when it was first tried. */
  private record Outgoing(SpanEventEnvelope envelope, int envelopes, long firstAttempt, String value) {
  }

  /** One request's envelopes, in order; at most one record of them in flight. */
  final class Channel {

    private final String requestId;
    private final Consumer<String> onFailure;
    private final ArrayDeque<SpanEventEnvelope> queued = new ArrayDeque<>();
    /** The record in flight or waiting to be tried again; null when none. */
    private Outgoing current;
    private boolean failed;
    private long pauseMs = FIRST_PAUSE_MS;
    private volatile boolean warned;

    private Channel(String requestId, Consumer<String> onFailure) {
      this.requestId = requestId;
      this.onFailure = onFailure;
    }

    /**
     * Waits until every envelope offered to this channel has been sent (or dropped, the channel failed), or
     * {@code timeout} passes; true when so. Other requests' envelopes are not waited for.
     */
    boolean drain(Duration timeout) throws InterruptedException {
      long deadline = System.nanoTime() + timeout.toNanos();
      while (busy()) {
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          return false;
        }
        synchronized (drained) {
          // woken when envelopes leave; a wake-up missed between the check and the wait costs at most 20 ms
          drained.wait(Math.clamp(TimeUnit.NANOSECONDS.toMillis(left), 1, 20));
        }
      }
      return true;
    }

    private synchronized boolean busy() {
      return !failed && (current != null || !queued.isEmpty());
    }

    /**
     * Queues an envelope to be sent after the ones before it. Never blocks. False when it will not be sent: the
     * channel has failed, or the sender holds {@code event-queue-capacity} envelopes (the channel fails now).
     */
    boolean offer(SpanEventEnvelope envelope) {
      String refusal;
      synchronized (this) {
        if (failed) {
          return false;
        }
        if (pending.incrementAndGet() > capacity) {
          pending.decrementAndGet();
          refusal = "more than " + capacity + " span events are waiting to be sent";
        } else {
          queued.add(envelope);
          if (current != null) {
            return true;
          }
          Outgoing out = next(System.nanoTime());
          current = out;
          try {
            thread.execute(() -> transmit(out));
            return true;
          } catch (RejectedExecutionException stopped) {
            refusal = "the worker is stopping";
          }
        }
      }
      fail(refusal);
      return false;
    }

    /** Whether the channel has failed: nothing more of its request is sent. */
    synchronized boolean failed() {
      return failed;
    }

    /** The next record: a finished event alone, or the tokens events of the envelopes that come first. */
    private Outgoing next(long firstAttempt) {
      SpanEventEnvelope head = queued.poll();
      if (head.finished() != null) {
        return outgoing(head, 1, firstAttempt);
      }
      List<SpanTokensEvent> events = new ArrayList<>(head.tokensEvents());
      int n = 1;
      while (n < MAX_ENVELOPES_PER_RECORD && !queued.isEmpty() && queued.peek().finished() == null) {
        events.addAll(queued.poll().tokensEvents());
        n++;
      }
      return outgoing(n == 1 ? head : SpanEventEnvelope.of(events), n, firstAttempt);
    }

    private Outgoing outgoing(SpanEventEnvelope envelope, int envelopes, long firstAttempt) {
      try {
        return new Outgoing(envelope, envelopes, firstAttempt, json.writeValueAsString(envelope));
      } catch (JsonProcessingException e) {
        throw new IllegalStateException("cannot serialize a span event", e);
      }
    }

    /** On the sender thread: hands the record to the producer (which may wait for metadata, up to max.block). */
    private void transmit(Outgoing out) {
      try {
        kafka.send(topic, requestId, out.value()).whenComplete((result, error) -> sent(out, error));
      } catch (RuntimeException e) {
        sent(out, e);
      }
    }

    private void sent(Outgoing out, Throwable error) {
      if (error == null) {
        Outgoing next = null;
        synchronized (this) {
          if (current != out) {
            return;
          }
          pauseMs = FIRST_PAUSE_MS;
          current = queued.isEmpty() ? null : next(System.nanoTime());
          next = current;
        }
        left(out.envelopes());
        if (warned) {
          log.info("request {}: span events sent again", requestId);
          warned = false;
        }
        if (next != null) {
          Outgoing n = next;
          try {
            thread.execute(() -> transmit(n));
          } catch (RejectedExecutionException stopped) {
            fail("the worker is stopping");
          }
        }
        return;
      }
      failedSends.increment();
      if (System.nanoTime() - out.firstAttempt() >= deliveryTimeoutNanos) {
        fail("span events could not be sent for " + Duration.ofNanos(deliveryTimeoutNanos).toSeconds() + " s: "
            + cause(error));
        return;
      }
      long pause;
      synchronized (this) {
        if (failed || current != out) {
          return;
        }
        pause = pauseMs;
        pauseMs = Math.min(LONGEST_PAUSE_MS, pauseMs * 2);
      }
      if (!warned) {
        log.warn("request {}: a span event record was not sent ({}); sending it again", requestId, cause(error));
        warned = true;
      }
      try {
        thread.schedule(() -> transmit(out), pause, TimeUnit.MILLISECONDS);
      } catch (RejectedExecutionException stopped) {
        fail("the worker is stopping");
      }
    }

    /** Drops what is left of the request's events and runs the failure handler, once. */
    private void fail(String reason) {
      int dropped;
      synchronized (this) {
        if (failed) {
          return;
        }
        failed = true;
        dropped = queued.size() + (current == null ? 0 : current.envelopes());
        queued.clear();
        current = null;
      }
      left(dropped);
      failedRequests.increment();
      log.warn("request {}: {}; it goes on elsewhere", requestId, reason);
      onFailure.accept(reason);
    }
  }
}
