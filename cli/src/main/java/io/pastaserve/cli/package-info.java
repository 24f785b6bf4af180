/**
 * {@code bin/pasta}: the command-line entry point. Each command writes its result to the given output stream
 * and its errors as one line to the error stream, and returns an exit status; only {@link PastaCli#main}
 * touches the process.
 */
package io.pastaserve.cli;
