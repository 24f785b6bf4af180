/** Wiring and settings of the interpreter service. */
package io.pastaserve.interpreter.config;
