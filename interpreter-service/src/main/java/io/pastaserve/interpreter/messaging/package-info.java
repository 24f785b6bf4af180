/** The interpreter's Kafka side: requests and span events in, span jobs out, cancellations. */
package io.pastaserve.interpreter.messaging;
