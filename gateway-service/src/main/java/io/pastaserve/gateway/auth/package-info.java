/** API keys: where they come from, how a presented key is checked (in constant time), and the filter on /v1. */
package io.pastaserve.gateway.auth;
