package io.pastaserve.worker.model.ort;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * The model contract's input and output names (docs/model-contract.md) as C strings, for binding. Lives as long as
 * the arena it was made in.
 */
final class ContractNames {

  final MemorySegment inputIds;
  final MemorySegment mask;
  final MemorySegment positions;
  final MemorySegment logits;
  /** Static-cache variant: each row's past length plus new tokens minus one, and the longest row's total. */
  final MemorySegment seqlens;
  final MemorySegment total;
  /** {@code past_key_values.L.key|value} and {@code present.L.key|value}, at {@code 2 * L + (0 key | 1 value)}. */
  private final MemorySegment[] past;
  private final MemorySegment[] present;

  ContractNames(Arena arena, int layers) {
    inputIds = arena.allocateFrom("input_ids");
    mask = arena.allocateFrom("attention_mask");
    positions = arena.allocateFrom("position_ids");
    logits = arena.allocateFrom("logits");
    seqlens = arena.allocateFrom("seqlens_k");
    total = arena.allocateFrom("total_sequence_length");
    past = new MemorySegment[layers * 2];
    present = new MemorySegment[layers * 2];
    for (int l = 0; l < layers; l++) {
      for (int kv = 0; kv < 2; kv++) {
        String which = kv == 0 ? "key" : "value";
        past[2 * l + kv] = arena.allocateFrom("past_key_values." + l + "." + which);
        present[2 * l + kv] = arena.allocateFrom("present." + l + "." + which);
      }
    }
  }

  /** The number of past (and of present) tensors: two per layer. */
  int cacheTensors() {
    return past.length;
  }

  /** Cache tensor {@code i}: layer {@code i / 2}, key ({@code i % 2 == 0}) or value. */
  MemorySegment past(int i) {
    return past[i];
  }

  MemorySegment present(int i) {
    return present[i];
  }
}
