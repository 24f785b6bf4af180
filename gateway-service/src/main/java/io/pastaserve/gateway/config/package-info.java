/** Wiring and settings of the gateway. */
package io.pastaserve.gateway.config;
