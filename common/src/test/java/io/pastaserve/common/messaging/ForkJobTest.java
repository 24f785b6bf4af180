package io.pastaserve.common.messaging;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ForkJobTest {

  final ObjectMapper json = new ObjectMapper().disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

  @Test
  void aJobNamingItsPrefixCache_roundTripsThroughJson() throws Exception {
    ForkJob job = new ForkJob(Map.of("0", List.of(5, 9)), Map.of("0", List.of(1)),
        new ForkJob.PrefixKv(RedisKeys.prefixKv("r1", "0.1", 40), List.of(9, 30, 31), List.of(41, 42, 43), 1));
    assertThat(json.readValue(json.writeValueAsString(job), ForkJob.class)).isEqualTo(job);
  }

  @Test
  void aJobOfTokenIdsOnly_writesNoPrefixCache_andAnOlderJobReadsAsTokenIdsOnly() throws Exception {
    ForkJob tokens = new ForkJob(Map.of("0", List.of(5, 9)), Map.of("0", List.of(1)));
    assertThat(json.readTree(json.writeValueAsString(tokens)).has("prefixKv")).isFalse();
    ForkJob older = json.readValue("{\"tokensBySpan\":{\"0\":[5,9]},\"forksBySpan\":{\"0\":[1]}}", ForkJob.class);
    assertThat(older).isEqualTo(tokens);
    assertThat(older.prefixKv()).isNull();
  }
}
