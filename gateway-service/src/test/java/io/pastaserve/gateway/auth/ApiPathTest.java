package io.pastaserve.gateway.auth;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** How raw request paths are read: under the API or not, written plainly or not. */
class ApiPathTest {

  @ParameterizedTest(name = "{0} -> underApi={1}, plain={2}")
  @CsvSource({
      "/v1/models, true, true",
      "/v1, true, true",
      "/V1/models, true, true",
      "/v1/, true, false",
      "/v1;a/models, true, false",
      "/v1/models;x, true, false",
      "/%76%31/models, true, false",
      "/v%31/models, true, false",
      "//v1/models, true, false",
      "/v1//models, true, false",
      "/./v1/models, true, false",
      "/x/../v1/models, true, false",
      "/x/%2e%2e/v1/models, true, false",
      "/v1%2Fmodels, true, false",
      "/%2Fv1/models, true, false",
      "/v1%5Cmodels, true, false",
      "/v1%3Ba/models, true, false",
      "/v1/%zz, true, false",
      "/v1/%c3, true, false",
      "/, false, true",
      "/playground.js, false, true",
      "/actuator/health, false, true",
      "/v2/models, false, true",
      "/v1x/models, false, true",
      "/v1/../playground.js, false, false",
      "/%2576%2531/models, false, false"})
  void aPathIsReadAsRoutingWouldReadIt(String raw, boolean underApi, boolean plain) {
    assertThat(ApiPath.of(raw)).isEqualTo(new ApiPath(underApi, plain));
  }
}
