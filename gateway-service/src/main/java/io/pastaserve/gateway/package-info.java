/** The gateway service: the OpenAI-compatible reactive API in front of the suite. */
package io.pastaserve.gateway;
