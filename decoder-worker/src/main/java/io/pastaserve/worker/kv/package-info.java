/**
 * Key/value cache storage: dense off-heap blocks in the model's cache layout, and the copies between them that
 * forks, joins, parking and batch changes need. Plain Java, no Spring.
 */
package io.pastaserve.worker.kv;
