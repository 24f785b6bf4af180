/** Wiring and settings of the decoder worker. */
package io.pastaserve.worker.config;
