package io.pastaserve.worker.engine;

import io.pastaserve.worker.kv.KvSnapshot;
import io.pastaserve.worker.model.ModelConfig;
import java.util.List;
import java.util.Objects;

/**
 * A fork's prefix as its parent's cache held it at the promise: the columns the fork sees ({@code kv}, every
 * layer's keys and values), then the tokens it feeds on top of them before it chooses its first own token, with
 * their positions: its parent's tokens not yet fed (the promise's last token at least) and its opener. What a fork
 * beside its parent starts from, so a fork started from it on another engine computes exactly what it would have
 * computed here.
 *
 * @param kv the parent's columns, in order
 * @param tokens the tokens fed after them (the parent's pending tokens, then the opener)
 * @param positions the position of each of {@code tokens}
 * @param shared how many of {@code tokens} are the parent's (the rest are the fork's opener)
 */
public record ForkPrefixKv(KvSnapshot kv, List<Integer> tokens, List<Integer> positions, int shared) {

  public ForkPrefixKv {
    Objects.requireNonNull(kv, "kv");
    tokens = List.copyOf(tokens);
    positions = List.copyOf(positions);
    if (tokens.isEmpty() || tokens.size() != positions.size() || shared < 1 || shared > tokens.size()) {
      throw new IllegalArgumentException("a fork prefix needs a position per token, and the parent's token(s) first: "
          + tokens.size() + " tokens, " + positions.size() + " positions, " + shared + " shared");
    }
  }

  /**
   * Whether a model of {@code model}'s shape can start the fork from it: the same cache layout (layers, heads, head
   * size, element size) and room in the context for the columns, the tokens and at least one more.
   */
  public boolean fits(ModelConfig model) {
    int last = positions.stream().mapToInt(Integer::intValue).max().orElse(0);
    return kv.layers() == model.layers() && kv.kvHeads() == model.kvHeads() && kv.headDim() == model.headDim()
        && kv.elementBytes() == model.kvElementBytes()
        && (long) kv.columns() + tokens.size() < model.maxPositions() && last < model.maxPositions() - 1;
  }
}
