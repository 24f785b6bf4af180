/**
 * The decoding engine: a single-threaded step loop ({@link io.pastaserve.worker.engine.Engine}) that runs every
 * active span of every request as one batch per step. Its rooms: admission within the cache budget
 * ({@link io.pastaserve.worker.engine.Admission}), the batch's forward passes
 * ({@link io.pastaserve.worker.engine.BatchRunner}), the PASTA-LANG span program that forks on a promise, parks on a
 * sync and joins ({@link io.pastaserve.worker.engine.SpanProgram}), and the answers; the cache itself is the
 * {@link io.pastaserve.worker.kv.KvCache}'s. Positions and visibility are exactly as {@code docs/pasta-lang.md}
 * defines them. Plain Java, no Spring.
 */
package io.pastaserve.worker.engine;
