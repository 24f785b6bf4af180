package io.pastaserve.worker.config;

import jakarta.validation.constraints.NotBlank;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.validation.annotation.Validated;

/**
 * Settings of a decoder worker ({@code pasta.worker.*}).
 *
 * @param modelDir directory of the model (see {@code docs/model-contract.md})
 */
@Validated
@ConfigurationProperties("pasta.worker")
public record WorkerProperties(@DefaultValue("models/pasta-tiny") @NotBlank String modelDir) {
}
