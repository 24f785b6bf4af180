/** The worker announces itself in Redis, so gateways know which models are served and that a worker is alive. */
package io.pastaserve.worker.registry;
