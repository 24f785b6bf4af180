package io.pastaserve.common.output;

import com.fasterxml.jackson.annotation.JsonInclude;
import io.pastaserve.common.messaging.SpanTiming;
import io.pastaserve.common.request.FinishReason;
import java.util.List;
import java.util.Objects;

/**
 * One entry of a request's output stream, as the interpreter service writes it and the gateway reads it: text in
 * final order, a span's progress (only when the request asked for span events), or the final entry. {@link
 * OutputCodec} turns each into stream fields and back.
 */
public sealed interface OutputEntry {

  /**
   * Text of the answer, in final order (every fork's text in its place).
   *
   * @param text what the answer goes on with; never empty
   */
  record Text(String text) implements OutputEntry {

    public Text {
      Objects.requireNonNull(text, "text");
    }
  }

  /**
   * What one span decoded since its last entry, token by token, with the forks each token started: enough to draw
   * each span's lane as it fills. Written only for a request that asked for span events.
   *
   * @param span the span
   * @param parent the span that forked it, or empty for the main span
   * @param pieces its new tokens' text, in order
   * @param trailing text the span released when it ended, or empty
   * @param ended whether the span has ended
   * @param worker the worker that decoded these tokens, or empty when not known (a worker or an interpreter that
   *     predates the field)
   */
  record SpanProgress(String span, String parent, List<Piece> pieces, String trailing, boolean ended,
      @JsonInclude(JsonInclude.Include.NON_EMPTY) String worker)
      implements OutputEntry {

    public SpanProgress {
      Objects.requireNonNull(span, "span");
      parent = parent == null ? "" : parent;
      pieces = pieces == null ? List.of() : List.copyOf(pieces);
      trailing = trailing == null ? "" : trailing;
      worker = worker == null ? "" : worker;
    }

    /** Progress that does not name its worker. */
    public SpanProgress(String span, String parent, List<Piece> pieces, String trailing, boolean ended) {
      this(span, parent, pieces, trailing, ended, "");
    }

    /**
     * One token's text and the forks it started.
     *
     * @param text text the token adds (may be empty)
     * @param forks spans the token started, in order
     */
    public record Piece(String text, List<String> forks) {

      public Piece {
        text = text == null ? "" : text;
        forks = forks == null ? List.of() : List.copyOf(forks);
      }
    }
  }

  /**
   * The final entry: why the request ended and what it cost. Nothing follows it.
   *
   * @param finishReason why it ended
   * @param error a message when the reason is {@link FinishReason#ERROR} (or why it was cancelled), else empty
   * @param promptTokens prompt tokens as the worker counted them (0 when it did not)
   * @param completionTokens tokens decoded by all spans
   * @param criticalPathTokens the longest chain of tokens decoded one after another
   * @param forks spans forked
   * @param annotated the flat transcript (the answer with its annotations), or empty
   * @param spans when each span decoded (empty when unknown)
   */
  record Done(FinishReason finishReason, String error, int promptTokens, long completionTokens,
      long criticalPathTokens, int forks, String annotated, List<SpanTiming> spans) implements OutputEntry {

    public Done {
      Objects.requireNonNull(finishReason, "finishReason");
      error = error == null ? "" : error;
      annotated = annotated == null ? "" : annotated;
      spans = spans == null ? List.of() : List.copyOf(spans);
    }

    /** A final entry that only says why: a cancellation or an error, with nothing decoded to report. */
    public static Done of(FinishReason finishReason, String error) {
      return new Done(finishReason, error, 0, 0, 0, 0, "", List.of());
    }
  }
}
