/**
 * The state of each running request: span tokens and structure recorded in Redis (so any instance can resume
 * it and any worker can rebuild its cache), and the answer streamed in final order.
 */
package io.pastaserve.interpreter.program;
