package io.pastaserve.gateway.config;

import jakarta.validation.constraints.NotBlank;
import jakarta.validation.constraints.Positive;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.validation.annotation.Validated;

/**
 * Settings of the gateway ({@code pasta.gateway.*}).
 *
 * @param modelName the model id the API serves and {@code /v1/models} lists
 * @param maxBodyBytes largest request body accepted
 */
@Validated
@ConfigurationProperties("pasta.gateway")
public record GatewayProperties(
    @DefaultValue("pasta-tiny") @NotBlank String modelName,
    @DefaultValue("1048576") @Positive int maxBodyBytes) {
}
