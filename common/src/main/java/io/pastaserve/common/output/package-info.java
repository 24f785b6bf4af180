/**
 * A request's output stream in Redis ({@link io.pastaserve.common.messaging.RedisKeys#output}): the answer in final
 * order as {@link io.pastaserve.common.output.OutputEntry} records — text, span progress, and the final entry — and
 * {@link io.pastaserve.common.output.OutputCodec}, the one encoding of them into stream fields, which the interpreter
 * service writes with and the gateway reads with.
 */
package io.pastaserve.common.output;
