package io.pastaserve.common.messaging;

import java.util.Objects;

/**
 * Cancels a request: every span stops and frees its cache and keys.
 *
 * @param v schema version
 * @param requestId the request, also the Kafka key
 * @param reason why, for the logs
 */
public record CancelCommand(int v, String requestId, String reason) {

  public static final int VERSION = 1;

  public CancelCommand {
    Objects.requireNonNull(requestId, "requestId");
    reason = reason == null ? "" : reason;
  }
}
