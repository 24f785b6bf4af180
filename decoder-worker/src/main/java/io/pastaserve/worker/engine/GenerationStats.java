package io.pastaserve.worker.engine;

/**
 * What a request cost.
 *
 * @param promptTokens tokens of the prompt, chat template included
 * @param forks spans forked
 * @param totalTokens tokens decoded by all spans (the cost of serial execution)
 * @param criticalPathTokens the longest chain of tokens that had to be decoded one after another
 * @param idealSpeedup {@code totalTokens / criticalPathTokens}
 * @param steps engine steps from admission to the end
 * @param wallMs milliseconds from submission to the end
 * @param queueMs milliseconds from submission to admission (waiting for batch room or cache)
 * @param joinWaitMs milliseconds spans spent waiting for their forks at a sync (serial mode: for the child),
 *     summed over spans
 */
public record GenerationStats(int promptTokens, int forks, long totalTokens, long criticalPathTokens,
    double idealSpeedup, long steps, double wallMs, double queueMs, double joinWaitMs) {
}
