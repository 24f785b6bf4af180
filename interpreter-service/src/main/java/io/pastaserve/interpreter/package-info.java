/** The interpreter service: the authority on each request's program of spans. */
package io.pastaserve.interpreter;
