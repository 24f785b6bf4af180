/** Choosing the next token from logits: greedy, temperature, top-k, top-p, with per-span random streams. */
package io.pastaserve.worker.sampling;
