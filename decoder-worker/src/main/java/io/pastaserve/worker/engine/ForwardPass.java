package io.pastaserve.worker.engine;

import io.pastaserve.worker.kv.KvBlock;
import java.nio.FloatBuffer;

/**
 * One batched forward pass of the model, as {@link io.pastaserve.worker.model.ModelRunner#forward} runs it. The
 * engine calls it through this seam so that tests can make a pass fail for the rows of one request.
 */
@FunctionalInterface
interface ForwardPass {

  FloatBuffer run(int rows, int seq, long[] inputIds, long[] positionIds, long[] attentionMask, int pastColumns,
      KvBlock past, KvBlock present);
}
