/** Which decoder workers are alive and what they serve, from their heartbeats in Redis. */
package io.pastaserve.gateway.workers;
