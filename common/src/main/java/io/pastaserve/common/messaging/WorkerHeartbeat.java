package io.pastaserve.common.messaging;

import java.util.Objects;

/**
 * A decoder worker says it is alive and what it serves. Each worker writes its own under {@link
 * RedisKeys#worker} with a short expiry and refreshes it; a worker whose key expired is gone.
 *
 * @param v schema version
 * @param workerId unique per process
 * @param model the model's name
 * @param maxContext tokens the model's context holds (prompt plus answer)
 * @param provider the ONNX Runtime execution provider in use ({@code cpu} or {@code cuda})
 * @param host where the worker runs, for operators
 */
public record WorkerHeartbeat(int v, String workerId, String model, int maxContext, String provider, String host) {

  public static final int VERSION = 1;

  public WorkerHeartbeat {
    Objects.requireNonNull(workerId, "workerId");
    Objects.requireNonNull(model, "model");
    provider = provider == null ? "" : provider;
    host = host == null ? "" : host;
  }
}
