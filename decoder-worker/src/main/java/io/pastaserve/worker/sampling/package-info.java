/** Choosing the next token from logits: greedy, temperature, top-k, top-p, with a random number per span and token ({@link SpanDraws}). */
package io.pastaserve.worker.sampling;
