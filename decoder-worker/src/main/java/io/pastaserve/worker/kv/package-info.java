/**
 * The KV cache manager: its contract ({@link io.pastaserve.worker.kv.KvCache}, spoken in per-span
 * {@link io.pastaserve.worker.kv.KvSeq} handles and per-pass {@link io.pastaserve.worker.kv.KvPass}es), and the host
 * implementation in dense off-heap blocks in the model's cache layout, with the copies between them that forks,
 * joins, parking and batch changes need. Plain Java, no Spring.
 */
package io.pastaserve.worker.kv;
