package io.pastaserve.common.lang;

import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * One decoding thread of a program: the main span, or a fork that writes one promised chunk.
 *
 * @param id the span's place in the program
 * @param parent the span that forked this one; empty for the main span
 * @param topic the promise's topic; empty for the main span
 * @param predictedTokens the promise's {@code tokens} attribute, if it had one
 * @param forkOffset characters of the parent's own output (its text and tags, not its forks' content) up to
 *     and including the promise; -1 for the main span
 * @param opener the {@code <async>} opener the fork starts from; empty for the main span
 * @param closer the {@code </async>} the fork wrote; empty for the main span and for a fork that ended
 *     without one (end of sequence or budget)
 * @param pieces the span's own output in order
 */
public record Span(
    SpanId id,
    Optional<SpanId> parent,
    Optional<String> topic,
    OptionalInt predictedTokens,
    int forkOffset,
    Optional<PastaEvent.AsyncOpen> opener,
    Optional<PastaEvent.AsyncClose> closer,
    List<Piece> pieces) {

  public Span {
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(parent, "parent");
    Objects.requireNonNull(topic, "topic");
    Objects.requireNonNull(predictedTokens, "predictedTokens");
    Objects.requireNonNull(opener, "opener");
    Objects.requireNonNull(closer, "closer");
    pieces = List.copyOf(pieces);
  }

  /** The forks this span started, in promise order. */
  public List<SpanId> forks() {
    return pieces.stream()
        .filter(Piece.Fork.class::isInstance)
        .map(p -> ((Piece.Fork) p).child())
        .toList();
  }

  /** The characters this span wrote itself: its text and tags, excluding its forks' content. */
  public String ownOutput() {
    StringBuilder sb = new StringBuilder();
    for (Piece piece : pieces) {
      if (!(piece instanceof Piece.Inert inert) || inert.decoded()) {
        sb.append(piece.raw());
      }
    }
    closer.ifPresent(c -> sb.append(c.raw()));
    return sb.toString();
  }
}
