package io.pastaserve.common.messaging;

import java.util.List;
import java.util.Objects;

/**
 * A fork decoded on another worker is done (on {@link Topics#FORK_RESULTS}, which every worker reads): the worker
 * running its request feeds these tokens into the fork, which waited there, and joins it.
 *
 * @param v schema version
 * @param requestId the request, also the Kafka key
 * @param spanId the fork
 * @param tokens every token id the fork decoded, in order
 * @param worker the worker that decoded it
 */
public record ForkFinishedEvent(int v, String requestId, String spanId, List<Integer> tokens, String worker) {

  public static final int VERSION = 1;

  public ForkFinishedEvent {
    Objects.requireNonNull(requestId, "requestId");
    Objects.requireNonNull(spanId, "spanId");
    tokens = tokens == null ? List.of() : List.copyOf(tokens);
    worker = worker == null ? "" : worker;
  }
}
