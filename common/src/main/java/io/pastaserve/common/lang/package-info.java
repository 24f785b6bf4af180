/**
 * PASTA-LANG: the annotation language a PASTA-trained model writes into its own answers.
 *
 * <p>{@link io.pastaserve.common.lang.PastaParser} turns decoded text, fed piece by piece, into typed
 * {@link io.pastaserve.common.lang.PastaEvent}s. {@link io.pastaserve.common.lang.ProgramBuilder} turns
 * the events of a flat transcript into a {@link io.pastaserve.common.lang.Program}: the tree of spans,
 * the assembled text and the plan statistics. The grammar, the execution semantics and the policy for
 * malformed annotations are specified in {@code docs/pasta-lang.md}; this package implements them.
 *
 * <p>Nothing here throws on model output: a tag is recognised by its name and ends at its first {@code '>'},
 * whatever its attributes (a malformed one is read leniently), other text is ordinary text, and broken
 * structure degrades to serial execution; every departure is reported as a {@link
 * io.pastaserve.common.lang.Diagnostic}.
 */
package io.pastaserve.common.lang;
