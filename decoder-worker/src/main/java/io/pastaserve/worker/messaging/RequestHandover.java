package io.pastaserve.worker.messaging;

import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Predicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.kafka.core.KafkaTemplate;

/**
 * Requests this worker gives up while they still run — their span events could not be sent in time — and hands to
 * other workers: the lease is released and the job sent again, and whichever worker takes it resumes the request
 * from what the interpreter recorded. Tried again until the broker takes the job; a request that ended meanwhile, or
 * that another worker took, is forgotten. Thread-safe.
 */
final class RequestHandover {

  private static final Logger log = LoggerFactory.getLogger(RequestHandover.class);

  private final RequestLeases leases;
  private final KafkaTemplate<String, String> kafka;
  private final String jobsTopic;
  /** Requests to hand over: request id → job as received. */
  private final Map<String, String> waiting = new ConcurrentHashMap<>();
  /** Of {@link #waiting}, those whose job is being sent now. */
  private final Set<String> sending = ConcurrentHashMap.newKeySet();

  RequestHandover(RequestLeases leases, KafkaTemplate<String, String> kafka, String jobsTopic) {
    this.leases = leases;
    this.kafka = kafka;
    this.jobsTopic = jobsTopic;
  }

  /** Hands {@code id} over at the next {@link #attempt}. */
  void add(String id, String job) {
    waiting.put(id, job);
  }

  /**
   * One attempt for each request waiting here that the engine no longer runs here ({@code runningHere}): not
   * before, or a copy of the job that came back to this worker would be dropped as a job of a request running here,
   * and the request left with an owner that does not run it. The lease is released (or was left unowned by an
   * attempt whose send failed) and the job sent. Reads Redis; a failure of Redis is thrown, to be tried again.
   */
  void attempt(Predicate<String> runningHere) {
    for (Map.Entry<String, String> entry : Map.copyOf(waiting).entrySet()) {
      String id = entry.getKey();
      if (runningHere.test(id) || !sending.add(id)) {
        continue;
      }
      try {
        RequestLeases.Owner owner = leases.owner(id);
        boolean ours = owner.running() && (owner.worker().isEmpty()
            || owner.worker().equals(leases.workerId()) && leases.release(id));
        if (!ours) {
          waiting.remove(id);
          sending.remove(id);
          continue;
        }
        kafka.send(jobsTopic, id, entry.getValue()).whenComplete((result, error) -> {
          sending.remove(id);
          if (error == null) {
            waiting.remove(id);
            log.info("request {}: handed to another worker", id);
          } else {
            log.debug("request {}: cannot send its job yet ({})", id, error.getMessage());
          }
        });
      } catch (RuntimeException e) {
        sending.remove(id);
        throw e;
      }
    }
  }
}
