package io.pastaserve.gateway.generation;

import io.pastaserve.common.messaging.GenerateCommand;
import io.pastaserve.common.output.OutputEntry;
import io.pastaserve.common.request.FinishReason;
import io.pastaserve.gateway.workers.WorkerRegistry;
import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * Runs requests through the suite: admits (the bulkhead; the key's rate limit was checked before the body was
 * read, see {@link KeyRateLimit}), checks that a worker serves the model, enqueues to Kafka, and reads the answer
 * back from the request's Redis output stream. Whoever subscribes to {@link Generation#output()} owns the request:
 * cancelling that subscription (a client that went away) or letting the deadline pass publishes a cancellation
 * that reaches every span of the request. A resumable request whose client went away goes on and keeps its place
 * in the bulkhead until it ends or its deadline passes; a client reading it again takes a place of its own.
 */
public final class Generations {

  private static final Logger log = LoggerFactory.getLogger(Generations.class);

  private final Admission admission;
  private final WorkerRegistry workers;
  private final RequestQueue queue;
  private final OutputStreams outputs;
  private final GatewayMetrics metrics;
  private final String model;
  private final Duration deadline;

  public Generations(Admission admission, WorkerRegistry workers, RequestQueue queue, OutputStreams outputs,
      GatewayMetrics metrics, String model, Duration deadline) {
    this.admission = admission;
    this.workers = workers;
    this.queue = queue;
    this.outputs = outputs;
    this.metrics = metrics;
    this.model = model;
    this.deadline = deadline;
  }

  /**
   * A request that has been enqueued: its id and its output, which ends with the final entry.
   *
   * @param requestId the generation's id (Kafka key, Redis hash tag)
   * @param output the answer's entries; subscribe once
   */
  public record Generation(String requestId, Flux<StreamedEntry> output) {
  }

  /** Admits and enqueues {@code spec}; fails with a {@link GenerationException} saying why it did not. */
  public Mono<Generation> start(GenerationSpec spec, String idPrefix) {
    return Mono.defer(() -> {
      long admittedAt = System.nanoTime();
      Admission.Permit permit;
      try {
        permit = admission.admit();
      } catch (GenerationException e) {
        metrics.rejected(e.kind().name().toLowerCase(java.util.Locale.ROOT));
        return Mono.error(e);
      }
      if (workers.serving(model).isEmpty()) {
        permit.release();
        metrics.rejected("no_worker");
        return Mono.error(new GenerationException(GenerationException.Kind.NO_WORKER,
            "no decoder worker serving '" + model + "' is alive; try again once one has started",
            Duration.ofSeconds(5)));
      }
      String id = idPrefix + UUID.randomUUID().toString().replace("-", "");
      GenerateCommand command = new GenerateCommand(GenerateCommand.VERSION, id, spec.prompt(), spec.sampling(),
          spec.mode(), "", "", spec.spanEvents());
      java.util.concurrent.atomic.AtomicBoolean owned = new java.util.concurrent.atomic.AtomicBoolean();
      return queue.enqueue(command)
          .doOnError(e -> {
            permit.release();
            metrics.rejected("queue_unavailable");
            // the send may still reach the broker after the time limit: whatever arrives is cancelled
            queue.cancel(id, "enqueue_failed");
          })
          .then(Mono.fromSupplier(() -> {
            Flux<StreamedEntry> output = output(id, spec, permit, admittedAt).doOnSubscribe(s -> owned.set(true));
            // a generation nobody reads (the caller went away between enqueueing and reading) is cancelled
            Mono.delay(UNCLAIMED_AFTER).subscribe(t -> {
              if (owned.compareAndSet(false, true)) {
                abandon(id, permit, "unclaimed");
              }
            });
            return new Generation(id, output);
          }))
          // the caller went away while the request was being enqueued: it may be on its way, so cancel it
          .doOnCancel(() -> {
            if (owned.compareAndSet(false, true)) {
              abandon(id, permit, "client");
            }
          });
    });
  }

  /** How long an enqueued generation may wait for its reader before it is cancelled. */
  static final Duration UNCLAIMED_AFTER = Duration.ofSeconds(10);

  private void abandon(String id, Admission.Permit permit, String reason) {
    log.debug("request {} abandoned before it was read ({})", id, reason);
    queue.cancel(id, reason);
    permit.release();
    metrics.ended(FinishReason.CANCELLED.wire());
  }

  private Flux<StreamedEntry> output(String id, GenerationSpec spec, Admission.Permit permit, long admittedAt) {
    Duration limit = spec.timeout() != null && spec.timeout().compareTo(deadline) < 0 ? spec.timeout() : deadline;
    long deadlineAt = admittedAt + limit.toNanos();
    AtomicLong firstTokenAt = new AtomicLong(-1);
    java.util.concurrent.atomic.AtomicBoolean cancelled = new java.util.concurrent.atomic.AtomicBoolean();
    java.util.concurrent.atomic.AtomicBoolean detached = new java.util.concurrent.atomic.AtomicBoolean();
    java.util.concurrent.atomic.AtomicReference<String> lastRead = new java.util.concurrent.atomic.AtomicReference<>(
        "0-0");
    java.util.concurrent.atomic.AtomicBoolean ended = new java.util.concurrent.atomic.AtomicBoolean();
    return outputs.read(id, "0-0")
        .doOnNext(entry -> {
          if (!entry.isIdle()) {
            lastRead.set(entry.id());
          }
          if (entry.isDone()) {
            ended.set(true);
          }
        })
        .doOnCancel(() -> {
          // a reader gone after the final entry was read leaves nothing running behind it
          if (ended.get() || !cancelled.compareAndSet(false, true)) {
            return;
          }
          boolean deadlinePassed = System.nanoTime() >= deadlineAt;
          if (spec.resumable() && !deadlinePassed) {
            // the client may come back with Last-Event-ID: the generation goes on, bounded by its token budget,
            // and keeps its place in the bulkhead until it ends
            log.debug("request {}: reader gone; resumable, so it goes on", id);
            metrics.ended("detached");
            detached.set(true);
            holdUntilEnd(id, lastRead.get(), deadlineAt, permit);
            return;
          }
          log.debug("request {} cancelled ({})", id, deadlinePassed ? "deadline" : "client gone");
          queue.cancel(id, deadlinePassed ? "deadline" : "client");
          metrics.ended(deadlinePassed ? "timeout" : FinishReason.CANCELLED.wire());
        })
        .timeout(Mono.delay(remaining(deadlineAt)), entry -> Mono.delay(remaining(deadlineAt)))
        .onErrorMap(java.util.concurrent.TimeoutException.class,
            e -> new GenerationException(GenerationException.Kind.DEADLINE,
                "the request did not finish within its deadline of " + limit.toMillis() + " ms", null))
        .doOnNext(entry -> {
          long now = System.nanoTime();
          if (!entry.text().isEmpty() && firstTokenAt.compareAndSet(-1, now)) {
            metrics.firstToken(Duration.ofNanos(now - admittedAt));
          }
          if (entry.isDone()) {
            // the work is over: the next request may start while this answer's last bytes are written
            permit.release();
            long first = firstTokenAt.get();
            OutputEntry.Done done = entry.done();
            metrics.finished(done.finishReason(), Duration.ofNanos(now - admittedAt),
                first < 0 ? null : Duration.ofNanos(now - first), done.promptTokens(), done.completionTokens(),
                done.forks());
          }
        })
        .doFinally(signal -> {
          if (!detached.get()) {
            permit.release();
          }
        });
  }

  /**
   * A detached generation's place in the bulkhead: released when its final entry is written, or at its deadline,
   * when it is cancelled (no client is there to be told; a reader that comes back finds the stream as it stopped).
   */
  private void holdUntilEnd(String id, String afterId, long deadlineAt, Admission.Permit permit) {
    outputs.read(id, afterId)
        .filter(StreamedEntry::isDone)
        .next()
        .timeout(remaining(deadlineAt))
        .doOnError(e -> {
          // past its deadline, or its output unreadable (Redis away): either way nobody can read the rest, and a
          // generation that no longer holds a place in the bulkhead must not run on uncounted
          boolean deadline = e instanceof java.util.concurrent.TimeoutException;
          log.debug("request {}: detached and {}; cancelled", id, deadline ? "past its deadline" : "unreadable");
          queue.cancel(id, deadline ? "deadline" : "client");
        })
        .doFinally(signal -> permit.release())
        .subscribe(done -> log.debug("request {}: detached generation ended", id), e -> { });
  }

  /**
   * A request's output again, after the entry {@code afterId} (a client that reconnects with {@code
   * Last-Event-ID}), until its final entry or the server's deadline; empty when no such request is known (never
   * started, or expired).
   */
  public Mono<Flux<StreamedEntry>> resume(String id, String afterId) {
    // a reader holds a connection and reads Redis as long as a request does: it takes a place in the bulkhead
    // when its reading starts (before anything is written, so a full bulkhead is still a 429)
    return outputs.exists(id).filter(Boolean::booleanValue).map(known -> Flux.defer(() -> {
      Admission.Permit permit;
      try {
        permit = admission.admit();
      } catch (GenerationException e) {
        metrics.rejected(e.kind().name().toLowerCase(java.util.Locale.ROOT));
        return Flux.error(e);
      }
      return outputs.read(id, afterId)
          .timeout(Mono.delay(deadline), entry -> Mono.delay(deadline))
          .onErrorMap(java.util.concurrent.TimeoutException.class,
              e -> new GenerationException(GenerationException.Kind.DEADLINE,
                  "the request did not finish within " + deadline.toSeconds() + " s", null))
          .doFinally(signal -> permit.release());
    }));
  }

  private static Duration remaining(long deadlineAt) {
    return Duration.ofNanos(Math.max(0, deadlineAt - System.nanoTime()));
  }
}
