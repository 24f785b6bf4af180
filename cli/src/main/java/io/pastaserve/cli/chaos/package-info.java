/**
 * The harnesses that run the real suite as processes (a KRaft broker, Redis with an append-only file, the
 * interpreter, two decoder workers, the gateway). {@code bin/pasta chaos} drives a steady load of streamed and whole
 * answers in both modes, injects one fault at a time while requests are in flight, and classifies every request
 * against the answer of a fault-free run ({@link io.pastaserve.cli.chaos.Outcome}). {@code bin/pasta soak}
 * ({@link io.pastaserve.cli.chaos.SoakCommand}) runs a long load without faults and samples what the services hold
 * on to.
 *
 * <p>The pure parts — {@link io.pastaserve.cli.chaos.OutcomeClassifier} and {@link
 * io.pastaserve.cli.chaos.ChaosReport} — are unit-tested; the rest drives processes and HTTP.
 */
package io.pastaserve.cli.chaos;
