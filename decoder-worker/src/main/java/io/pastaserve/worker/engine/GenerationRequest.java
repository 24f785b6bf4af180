package io.pastaserve.worker.engine;

import io.pastaserve.worker.sampling.SamplingParams;
import java.util.Objects;
import java.util.Optional;

/**
 * One request to the engine.
 *
 * @param id unique among the engine's requests
 * @param prompt the user's prompt; the model's chat template is applied to it
 * @param sampling how to choose tokens, and the budget
 * @param mode async or serial execution of forks
 * @param replay a flat transcript to force: the model runs for real but each next token is taken from the
 *     transcript (benchmarks); empty for normal generation
 */
public record GenerationRequest(String id, String prompt, SamplingParams sampling, Mode mode,
    Optional<String> replay) {

  public GenerationRequest {
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(prompt, "prompt");
    Objects.requireNonNull(sampling, "sampling");
    Objects.requireNonNull(mode, "mode");
    Objects.requireNonNull(replay, "replay");
  }

  public static GenerationRequest of(String id, String prompt, SamplingParams sampling, Mode mode) {
    return new GenerationRequest(id, prompt, sampling, mode, Optional.empty());
  }
}
