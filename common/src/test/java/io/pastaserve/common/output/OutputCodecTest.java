package io.pastaserve.common.output;

import static org.assertj.core.api.Assertions.assertThat;

import io.pastaserve.common.messaging.SpanTiming;
import io.pastaserve.common.request.FinishReason;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class OutputCodecTest {

  @Test
  void everyEntry_roundTrips() {
    List<OutputEntry> entries = List.of(new OutputEntry.Text("Hello"),
        new OutputEntry.SpanProgress("0.1", "0", List.of(new OutputEntry.SpanProgress.Piece("a", List.of("0.1.1"))),
            "", true),
        new OutputEntry.SpanProgress("0", "", List.of(), "", false, "worker-a"),
        new OutputEntry.Done(FinishReason.LENGTH, "", 5, 40, 22, 2, "x<sync/>",
            List.of(new SpanTiming("0", "", "", 3, 1.5, 9.0))));
    for (OutputEntry entry : entries) {
      assertThat(OutputCodec.decode(fields(OutputCodec.encode(entry)))).contains(entry);
    }
  }

  @Test
  void fieldNames_andValues_stayAsTheyWere() {
    assertThat(fields(OutputCodec.encode(new OutputEntry.Text("hi")))).isEqualTo(Map.of("type", "text",
        "text", "hi"));
    assertThat(fields(OutputCodec.encode(OutputEntry.Done.of(FinishReason.CANCELLED, ""))))
        .containsEntry("type", "done").containsEntry("finishReason", "cancelled").containsEntry("spans", "[]");
    assertThat(OutputCodec.spanJson(new OutputEntry.SpanProgress("0", "", List.of(), "", false)))
        .isEqualTo("{\"span\":\"0\",\"parent\":\"\",\"pieces\":[],\"trailing\":\"\",\"ended\":false}");
  }

  @Test
  void aFinalEntry_fromAnotherVersion_isReadLeniently() {
    OutputEntry read = OutputCodec.decode(Map.of("type", "done", "finishReason", "stop")).orElseThrow();
    assertThat(read).isEqualTo(OutputEntry.Done.of(FinishReason.STOP, ""));
    OutputEntry.Done unknown = (OutputEntry.Done) OutputCodec.decode(Map.of("type", "done", "finishReason",
        "exploded", "promptTokens", "x")).orElseThrow();
    assertThat(unknown.finishReason()).isEqualTo(FinishReason.ERROR);
    assertThat(unknown.error()).contains("without a known finish reason ('exploded')");
    assertThat(OutputCodec.decode(Map.of("type", "idle"))).isEmpty();
  }

  private static Map<String, String> fields(List<String> pairs) {
    Map<String, String> out = new HashMap<>();
    for (int i = 0; i < pairs.size(); i += 2) {
      out.put(pairs.get(i), pairs.get(i + 1));
    }
    return out;
  }
}
