/** The decoder worker service: runs span jobs on its engine. */
package io.pastaserve.worker;
