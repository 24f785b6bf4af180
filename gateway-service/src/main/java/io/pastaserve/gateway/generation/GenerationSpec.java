package io.pastaserve.gateway.generation;

import io.pastaserve.common.request.Mode;
import io.pastaserve.common.request.Sampling;
import java.util.Objects;

/**
 * A validated request, ready to run.
 *
 * @param prompt the prompt (the worker applies the model's chat template)
 * @param promptTokens tokens of the prompt with the template, as counted at admission
 * @param sampling how tokens are chosen, with the answer's token budget
 * @param mode how the request's forks run
 * @param keyName the caller's API key name (rate limits)
 * @param spanEvents whether the output also carries each span's text as it decodes
 * @param resumable whether the generation goes on when its reader goes away
 * @param timeout the caller's deadline, or null for the server's (the server's is the most it gets)
 */
public record GenerationSpec(String prompt, int promptTokens, Sampling sampling, Mode mode, String keyName,
    boolean spanEvents, boolean resumable, java.time.Duration timeout) {

  public GenerationSpec {
    Objects.requireNonNull(prompt, "prompt");
    Objects.requireNonNull(sampling, "sampling");
    Objects.requireNonNull(mode, "mode");
    Objects.requireNonNull(keyName, "keyName");
  }
}
