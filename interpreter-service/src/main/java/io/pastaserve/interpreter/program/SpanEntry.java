package io.pastaserve.interpreter.program;

import java.util.List;

/**
 * A {@code span} entry of a request's output stream (written when the request asked for span events): what one span
 * decoded since its last entry, token by token, with the forks each token started — enough to draw each span's lane
 * as it fills.
 */
record SpanEntry(String span, String parent, List<Piece> pieces, String trailing, boolean ended) {

  SpanEntry {
    pieces = List.copyOf(pieces);
  }

  /** One token's text and the forks it started. */
  record Piece(String text, List<String> forks) {

    Piece {
      forks = List.copyOf(forks);
    }
  }
}
