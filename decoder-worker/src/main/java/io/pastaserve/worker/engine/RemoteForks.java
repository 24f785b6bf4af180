package io.pastaserve.worker.engine;

/**
 * Where an engine sends the forks it places elsewhere ({@link ForkPlacement}): the job of decoding one span, which
 * another engine runs ({@link RemoteFork#forkRequest()}) and whose tokens come back through
 * {@link Engine#remoteForkDone}. Called on the scheduler thread: it must not block.
 */
@FunctionalInterface
public interface RemoteForks {

  void fork(RemoteFork job);

  /**
   * Whether another engine may take a fork now: {@link ForkPlacement#AUTO} places a fork elsewhere for want of room
   * only then (sent to itself, it would wait for the same room). Called on the scheduler thread: it must not block.
   */
  default boolean othersAvailable() {
    return true;
  }

  /**
   * The tokens of fork {@code span} of request {@code requestId}, placed elsewhere, came back after its parent had
   * waited {@code nanos} for them: blocked at a sync, in serial mode at the promise, or at its own end (0 when the
   * parent was not waiting yet). Called once per returning fork, on the scheduler thread: it must not block.
   */
  default void joinWaited(String requestId, String span, long nanos) {
  }
}
