package io.pastaserve.gateway.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;
import io.pastaserve.common.request.Mode;
import java.util.List;

/** The API's response shapes (OpenAI's, plus the {@code pasta} extension object clients may ignore). */
final class Responses {

  private Responses() {
  }

  @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
  record Usage(long promptTokens, long completionTokens, long totalTokens) {
  }

  /**
   * What parallel decoding did for this answer.
   *
   * @param mode how the forks ran ({@code async} or {@code serial})
   * @param seed the seed the answer was sampled with (the caller's, or the one drawn for it): sent back, it gives
   *     the same answer; null where it is not known (a stream read again)
   * @param forks spans forked
   * @param totalTokens tokens decoded by all spans (the cost of serial execution)
   * @param criticalPathTokens the longest chain of tokens decoded one after another
   * @param idealSpeedup total ÷ critical path
   * @param spans when each span decoded (milliseconds from the request reaching its worker)
   * @param annotated the answer with its annotations, when asked for
   */
  @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
  @JsonInclude(JsonInclude.Include.NON_NULL)
  record Pasta(Mode mode, Long seed, long forks, long totalTokens, long criticalPathTokens, double idealSpeedup,
      List<Span> spans, String annotated) {
  }

  /**
   * One span of the answer ({@code pasta.spans[]}).
   *
   * @param id the span ({@code 0} is the main span)
   * @param parent the span it forked from, or empty for the main span
   * @param topic the promise's topic, or empty for the main span
   * @param tokens tokens it decoded
   * @param startMs milliseconds from the request reaching its worker to the span's first token
   * @param endMs milliseconds from the request reaching its worker to the span's end
   * @param worker the id of the worker that decoded it (as in its heartbeat), or empty where not known
   */
  @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
  record Span(String id, String parent, String topic, int tokens, double startMs, double endMs, String worker) {
  }

  record Message(String role, String content) {
  }

  @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
  @JsonInclude(JsonInclude.Include.ALWAYS)
  record ChatChoice(int index, Message message, Object logprobs, String finishReason) {
  }

  @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
  @JsonInclude(JsonInclude.Include.ALWAYS)
  record TextChoice(int index, String text, Object logprobs, String finishReason) {
  }

  @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
  @JsonInclude(JsonInclude.Include.NON_NULL)
  record Completion(String id, String object, long created, String model, List<?> choices, Usage usage,
      Pasta pasta) {
  }

  @JsonInclude(JsonInclude.Include.NON_NULL)
  record Delta(String role, String content) {
  }

  @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
  @JsonInclude(JsonInclude.Include.ALWAYS)
  record ChatChunkChoice(int index, Delta delta, Object logprobs, String finishReason) {
  }

  @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
  @JsonInclude(JsonInclude.Include.ALWAYS)
  record TextChunkChoice(int index, String text, Object logprobs, String finishReason) {
  }

  /**
   * A streamed chunk. {@code usage} is written only when the client asked for it, as OpenAI does: JSON null
   * ({@link com.fasterxml.jackson.databind.node.NullNode}) on every chunk but the last, which has the usage and
   * no choices; {@code pasta} only on the chunk that finishes the answer.
   */
  @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
  @JsonInclude(JsonInclude.Include.NON_NULL)
  record Chunk(String id, String object, long created, String model, List<?> choices, Object usage,
      Pasta pasta) {
  }

  @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
  record Model(String id, String object, long created, String ownedBy, int maxModelLen, int liveWorkers) {
  }

  record ModelList(String object, List<Model> data) {
  }
}
