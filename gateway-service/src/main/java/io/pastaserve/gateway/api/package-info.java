/**
 * The OpenAI-compatible HTTP API: {@code /v1/chat/completions}, {@code /v1/completions}, {@code /v1/models}, their
 * request validation, response shapes (with the {@code pasta} extension), streaming and the error envelope.
 */
package io.pastaserve.gateway.api;
