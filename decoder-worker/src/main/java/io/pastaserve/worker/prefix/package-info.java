/** The shared prefix state in Redis beside a request's token ids: the KV of a span's prefix, for other workers. */
package io.pastaserve.worker.prefix;
