package io.pastaserve.common.messaging;

/**
 * Redis keys of a request's state. All keys of one request share a hash tag, so they live on one shard.
 *
 * <ul>
 *   <li>{@link #request}: hash — prompt, mode, stop strings, status ({@code running}, {@code finished}), emitted
 *       characters, the span job as dispatched ({@code job}), when it was last sent ({@code dispatched}, epoch
 *       milliseconds: what the interpreters' watchdog reads to send again a job no worker claimed), the worker
 *       running it ({@code worker}, empty while the job waits in Kafka), and a change count ({@code seq}, raised by
 *       every recorded event: an interpreter whose view of the request is older rebuilds it first)</li>
 *   <li>{@link #spans}: hash — span id → parent span id ("" for the main span)</li>
 *   <li>{@link #tokens}: list — the span's token ids, in order (what a worker resumes from)</li>
 *   <li>{@link #pieces}: list — per token, parallel to {@link #tokens}: a {@link TokenItem} as JSON (what the
 *       output is rebuilt from)</li>
 *   <li>{@link #ended}: hash — span id → the text it released as it ended, for each span that has ended</li>
 *   <li>{@link #spanWorkers}: hash — span id → the id of the worker whose tokens of it were recorded last (the
 *       worker that decoded it)</li>
 *   <li>{@link #spanTopics}: hash — span id → the topic of the promise it was forked at, for forks whose worker
 *       said</li>
 *   <li>{@link #output}: stream — the answer in final order: text chunks, then a final entry</li>
 * </ul>
 *
 * <p>Besides the keys of requests: {@link #worker} — one string per live decoder worker (a {@link
 * WorkerHeartbeat} as JSON, with a short expiry), {@link #RUNNING} — a sorted set of running requests by start
 * time (what the interpreters watch for requests whose worker has gone), and the channel {@link #OUTPUT_READY} on which the interpreter
 * publishes a request's id whenever its output stream grows, so that readers need not poll.
 */
public final class RedisKeys {

  /** Pub/sub channel: a request id, each time that request's {@link #output} stream grows. */
  public static final String OUTPUT_READY = "pasta:output-ready";
  /** Sorted set: the ids of running requests, scored by the time they started (epoch milliseconds). */
  public static final String RUNNING = "pasta:requests:running";
  /** Pattern matching every {@link #worker} key. */
  public static final String WORKERS_PATTERN = "pasta:worker:*";

  private RedisKeys() {
  }

  /** A live worker's {@link WorkerHeartbeat}. */
  public static String worker(String workerId) {
    return "pasta:worker:" + workerId;
  }

  private static String base(String requestId) {
    return "pasta:{" + requestId + "}";
  }

  public static String request(String requestId) {
    return base(requestId) + ":request";
  }

  public static String spans(String requestId) {
    return base(requestId) + ":spans";
  }

  public static String tokens(String requestId, String spanId) {
    return base(requestId) + ":tokens:" + spanId;
  }

  /**
   * String — the number of chunks of the KV of span {@code spanId}'s first {@code columns} cached tokens, whose
   * chunks are this key with {@code :0}, {@code :1}, … appended (written by the worker that holds the span, with an
   * expiry).
   */
  public static String prefixKv(String requestId, String spanId, int columns) {
    return base(requestId) + ":kv:" + spanId + ":" + columns;
  }

  /** String — the worker that claimed the job of fork {@code spanId} placed off its request's worker (expires). */
  public static String forkOwner(String requestId, String spanId) {
    return base(requestId) + ":fork-owner:" + spanId;
  }

  public static String pieces(String requestId, String spanId) {
    return base(requestId) + ":pieces:" + spanId;
  }

  public static String ended(String requestId) {
    return base(requestId) + ":ended";
  }

  public static String spanWorkers(String requestId) {
    return base(requestId) + ":span-workers";
  }

  public static String spanTopics(String requestId) {
    return base(requestId) + ":span-topics";
  }

  public static String output(String requestId) {
    return base(requestId) + ":output";
  }
}
