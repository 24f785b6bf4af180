package io.pastaserve.common.lang;

/**
 * What a program costs to decode.
 *
 * @param spans spans in the program, the main span included
 * @param forks forked spans
 * @param joins syncs that joined at least one fork
 * @param totalTokens tokens decoded by all spans together (the cost of serial execution)
 * @param criticalPathTokens decode steps when every fork runs concurrently with its parent: the longest
 *     chain of tokens that must be decoded one after another
 * @param idealSpeedup {@code totalTokens / criticalPathTokens}; 1 for an empty program
 */
public record PlanStats(
    int spans, int forks, int joins, long totalTokens, long criticalPathTokens, double idealSpeedup) {
}
