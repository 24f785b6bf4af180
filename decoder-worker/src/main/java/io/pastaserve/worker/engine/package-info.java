/**
 * The decoding engine: a single-threaded step loop ({@link io.pastaserve.worker.engine.Engine}) that runs every
 * active span of every request as one batch per step, interprets the PASTA-LANG the spans write (fork on a
 * promise, park on a sync, join), and keeps each span's positions and visibility exactly as {@code
 * docs/pasta-lang.md} defines them. Plain Java, no Spring.
 */
package io.pastaserve.worker.engine;
