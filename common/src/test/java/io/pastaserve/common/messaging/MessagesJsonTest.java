package io.pastaserve.common.messaging;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.pastaserve.common.lang.PastaLimits;
import io.pastaserve.common.request.FinishReason;
import io.pastaserve.common.request.Mode;
import io.pastaserve.common.request.Sampling;
import java.util.List;
import org.junit.jupiter.api.Test;

class MessagesJsonTest {

  final ObjectMapper json = new ObjectMapper().disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

  @Test
  void everyMessage_roundTripsThroughJson() throws Exception {
    Sampling sampling = new Sampling(0.7, 0.9, 40, 7, 256, List.of("###"));
    GenerateCommand generate = new GenerateCommand(1, "r1", "hi", sampling, Mode.ASYNC, "", "00-abc-def-01");
    assertThat(json.readTree(json.writeValueAsString(generate)).path("mode").asText()).isEqualTo("async");
    assertThat(json.readValue(json.writeValueAsString(generate), GenerateCommand.class)).isEqualTo(generate);
    DecodeSpanCommand job = new DecodeSpanCommand(1, "r1", "0", "hi", sampling, Mode.SERIAL, 2, "x<sync/>", "");
    assertThat(json.readValue(json.writeValueAsString(job), DecodeSpanCommand.class)).isEqualTo(job);
    SpanTokensEvent tokens = new SpanTokensEvent(1, "r1", "0.1", "0",
        List.of(new TokenItem(0, 5, "a", List.of()), new TokenItem(1, 9, "", List.of("0.1.1"))), "", true);
    SpanEventEnvelope envelope = SpanEventEnvelope.of(tokens);
    assertThat(json.readValue(json.writeValueAsString(envelope), SpanEventEnvelope.class)).isEqualTo(envelope);
    assertThat(SpanEventEnvelope.of(List.of(tokens))).as("one event travels as itself").isEqualTo(envelope);
    SpanTokensEvent other = new SpanTokensEvent(1, tokens.requestId(), "0.1", "0", List.of(), "", true);
    SpanEventEnvelope batch = SpanEventEnvelope.of(List.of(tokens, other));
    assertThat(batch.type()).isEqualTo("batch");
    SpanEventEnvelope read = json.readValue(json.writeValueAsString(batch), SpanEventEnvelope.class);
    assertThat(read).isEqualTo(batch);
    assertThat(read.tokensEvents()).containsExactly(tokens, other);
    assertThat(json.readTree(json.writeValueAsString(batch)).has("tokensEvents")).isFalse();
    RequestFinishedEvent done = new RequestFinishedEvent(1, "r1", FinishReason.STOP, "", 5, 40, 22, 2, "x", List.of(new SpanTiming("0", "", "", 3, 1.5, 9.0)));
    assertThat(json.readValue(json.writeValueAsString(SpanEventEnvelope.of(done)), SpanEventEnvelope.class)
        .finished()).isEqualTo(done);
    assertThat(json.readTree(json.writeValueAsString(done)).path("finishReason").asText()).isEqualTo("stop");
  }

  @Test
  void newerFields_areIgnored_andMissingOnesDefault() throws Exception {
    GenerateCommand g = json.readValue("{\"v\":2,\"requestId\":\"r\",\"prompt\":\"p\",\"mode\":\"async\","
        + "\"sampling\":{\"temperature\":0,\"topP\":1,\"maxTokens\":5},\"future\":true}", GenerateCommand.class);
    assertThat(g.traceParent()).isEmpty();
    assertThat(g.sampling().stop()).isEmpty();
  }

  @Test
  void limitsWorkersAndTopics_travel_andOlderMessagesWithoutThemStillRead() throws Exception {
    Sampling sampling = new Sampling(0, 1, 0, 0, 16, List.of());
    DecodeSpanCommand job = new DecodeSpanCommand(1, "r1", "0", "hi", sampling, Mode.ASYNC, 1, "", "",
        new PastaLimits(4, 2, 16));
    assertThat(json.readValue(json.writeValueAsString(job), DecodeSpanCommand.class)).isEqualTo(job);
    DecodeSpanCommand old = json.readValue("{\"v\":1,\"requestId\":\"r\",\"spanId\":\"0\",\"prompt\":\"p\","
        + "\"mode\":\"async\",\"attempt\":1,\"sampling\":{\"temperature\":0,\"topP\":1,\"maxTokens\":5}}",
        DecodeSpanCommand.class);
    assertThat(old.limits()).as("a job from an older interpreter: the worker's own limits apply").isNull();

    SpanTokensEvent tokens = new SpanTokensEvent(1, "r1", "0.1", "0", List.of(), "", false, "worker-a", "tips");
    assertThat(json.readValue(json.writeValueAsString(tokens), SpanTokensEvent.class)).isEqualTo(tokens);
    SpanTokensEvent older = json.readValue("{\"v\":1,\"requestId\":\"r\",\"spanId\":\"0\",\"items\":[]}",
        SpanTokensEvent.class);
    assertThat(older.worker()).isEmpty();
    assertThat(older.topic()).isEmpty();

    SpanTiming timing = new SpanTiming("0.1", "0", "tips", 3, 1, 2, "worker-a");
    assertThat(json.readValue(json.writeValueAsString(timing), SpanTiming.class)).isEqualTo(timing);
    assertThat(json.readValue("{\"spanId\":\"0\",\"tokens\":1}", SpanTiming.class).worker()).isEmpty();
  }

  @Test
  void redisKeys_shareTheRequestsHashTag() {
    assertThat(RedisKeys.tokens("abc", "0.1")).startsWith("pasta:{abc}:");
    assertThat(RedisKeys.output("abc")).startsWith("pasta:{abc}:");
  }
}
