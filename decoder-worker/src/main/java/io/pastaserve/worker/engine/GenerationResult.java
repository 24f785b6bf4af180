package io.pastaserve.worker.engine;

import io.pastaserve.common.request.FinishReason;
import java.util.Objects;

/**
 * The answer to a request.
 *
 * @param id the request's id
 * @param text the assembled text: what the user sees
 * @param annotated the flat transcript: the text with every promise followed by its chunk, tags included
 * @param finishReason why it ended
 * @param error a message when {@code finishReason} is ERROR, else empty
 * @param stats what it cost
 */
public record GenerationResult(String id, String text, String annotated, FinishReason finishReason, String error,
    GenerationStats stats) {

  public GenerationResult {
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(text, "text");
    Objects.requireNonNull(annotated, "annotated");
    Objects.requireNonNull(finishReason, "finishReason");
    Objects.requireNonNull(error, "error");
    Objects.requireNonNull(stats, "stats");
  }
}
