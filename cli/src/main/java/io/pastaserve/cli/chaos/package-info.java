/**
 * {@code bin/pasta chaos}: the fault-injection harness. It starts the real suite as processes (a KRaft broker,
 * Redis with an append-only file, the interpreter, two decoder workers, the gateway), drives a steady load of
 * streamed and whole answers in both modes, injects one fault at a time while requests are in flight, and
 * classifies every request against the answer of a fault-free run ({@link io.pastaserve.cli.chaos.Outcome}).
 *
 * <p>The pure parts — {@link io.pastaserve.cli.chaos.OutcomeClassifier} and {@link
 * io.pastaserve.cli.chaos.ChaosReport} — are unit-tested; the rest drives processes and HTTP.
 */
package io.pastaserve.cli.chaos;
