package io.pastaserve.worker.engine;

import io.pastaserve.common.request.Mode;
import io.pastaserve.common.request.Sampling;
import java.util.Objects;
import java.util.Optional;

/**
 * One request to the engine.
 *
 * @param id unique among the engine's requests
 * @param prompt the user's prompt; the model's chat template is applied to it
 * @param sampling how to choose tokens, and the budget
 * @param mode async or serial execution of forks
 * @param forcing tokens to decode instead of choosing them (replay, resume); empty for normal generation
 */
public record GenerationRequest(String id, String prompt, Sampling sampling, Mode mode,
    Optional<Forcing> forcing) {

  public GenerationRequest {
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(prompt, "prompt");
    Objects.requireNonNull(sampling, "sampling");
    Objects.requireNonNull(mode, "mode");
    Objects.requireNonNull(forcing, "forcing");
  }

  public static GenerationRequest of(String id, String prompt, Sampling sampling, Mode mode) {
    return new GenerationRequest(id, prompt, sampling, mode, Optional.empty());
  }

  /** Replays a flat transcript: see {@link Forcing.Replay}. */
  public static GenerationRequest replay(String id, String prompt, String transcript, Mode mode) {
    return new GenerationRequest(id, prompt, Sampling.greedy(1 << 20), mode,
        Optional.of(new Forcing.Replay(transcript)));
  }
}
