package io.pastaserve.worker.kv;

/**
 * The cache tensors of one forward pass, as a {@link KvCache} lays them out: the model reads {@code past} (every row
 * right-aligned in {@code pastColumns} columns, masked on the left) and writes {@code present} ({@code pastColumns}
 * plus the tokens fed). Valid until the cache is next asked for a pass or changed.
 */
public record KvPass(KvBlock past, KvBlock present, int pastColumns) {
}
