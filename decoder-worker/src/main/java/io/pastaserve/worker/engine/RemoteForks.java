package io.pastaserve.worker.engine;

/**
 * Where an engine sends the forks it places elsewhere ({@link ForkPlacement}): the job of decoding one span, which
 * another engine runs ({@link RemoteFork#forcing()}) and whose tokens come back through
 * {@link Engine#remoteForkDone}. Called on the scheduler thread: it must not block.
 */
@FunctionalInterface
public interface RemoteForks {

  void fork(RemoteFork job);
}
