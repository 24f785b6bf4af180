package io.pastaserve.worker.engine;

import io.pastaserve.common.lang.PastaLimits;
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
 * @param limits the PASTA-LANG limits this request's program is held to (what its span job carries); empty: the
 *     engine's own ({@link EngineConfig#limits})
 */
public record GenerationRequest(String id, String prompt, Sampling sampling, Mode mode,
    Optional<Forcing> forcing, Optional<PastaLimits> limits) {

  public GenerationRequest {
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(prompt, "prompt");
    Objects.requireNonNull(sampling, "sampling");
    Objects.requireNonNull(mode, "mode");
    Objects.requireNonNull(forcing, "forcing");
    Objects.requireNonNull(limits, "limits");
  }

  /** A request held to the engine's own limits. */
  public GenerationRequest(String id, String prompt, Sampling sampling, Mode mode, Optional<Forcing> forcing) {
    this(id, prompt, sampling, mode, forcing, Optional.empty());
  }

  /** The same request, held to {@code newLimits} (null: the engine's own). */
  public GenerationRequest withLimits(PastaLimits newLimits) {
    return new GenerationRequest(id, prompt, sampling, mode, forcing, Optional.ofNullable(newLimits));
  }

  /** The limits this request is held to: its own, else {@code engineDefault}. */
  public PastaLimits limitsOr(PastaLimits engineDefault) {
    return limits.orElse(engineDefault);
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
