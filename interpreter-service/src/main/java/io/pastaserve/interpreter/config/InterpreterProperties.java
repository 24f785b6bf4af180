package io.pastaserve.interpreter.config;

import io.pastaserve.common.lang.PastaLimits;
import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.validation.annotation.Validated;

/**
 * Settings of the interpreter service ({@code pasta.interpreter.*}).
 *
 * @param maxSpans spans per request, the main span included; promises beyond it run inline
 * @param maxDepth fork nesting depth; promises deeper than it run inline
 * @param maxTopicLength longest topic of a well-formed tag, in characters
 */
@Validated
@ConfigurationProperties("pasta.interpreter")
public record InterpreterProperties(
    @DefaultValue("32") @Min(1) @Max(1024) int maxSpans,
    @DefaultValue("1") @Min(0) @Max(8) int maxDepth,
    @DefaultValue("64") @Min(0) @Max(4096) int maxTopicLength) {

  public PastaLimits limits() {
    return new PastaLimits(maxSpans, maxDepth, maxTopicLength);
  }
}
