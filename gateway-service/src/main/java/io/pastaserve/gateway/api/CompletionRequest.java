package io.pastaserve.gateway.api;

import io.pastaserve.common.request.Mode;
import io.pastaserve.common.request.Sampling;

/**
 * A chat or text completion request, validated.
 *
 * @param chat whether it came to {@code /v1/chat/completions} (else {@code /v1/completions})
 * @param model the model asked for
 * @param prompt the prompt the model sees (chat: the messages' contents, see {@link RequestParser})
 * @param sampling how tokens are chosen, with the answer's token budget and stop strings; its seed is the caller's,
 *     or one drawn at random for this request (reported back in the response, so the answer can be had again); null
 *     only for a stream read again, whose settings are not known here
 * @param stream whether to stream server-sent events
 * @param includeUsage whether a streamed answer ends with a usage chunk
 * @param user the caller's end-user id (for the logs)
 * @param mode how the request's forks run
 * @param includeAnnotated whether the response carries the annotated transcript
 * @param streamSpans whether the stream also carries {@code pasta.span} events (each span's text as it decodes)
 * @param resumable whether a client that disconnects leaves the request running, to read it again with
 *     {@code Last-Event-ID}
 * @param timeoutMs the caller's deadline in milliseconds (0: the server's); the server's is the most it gets
 */
record CompletionRequest(boolean chat, String model, String prompt, Sampling sampling, boolean stream,
    boolean includeUsage, String user, Mode mode, boolean includeAnnotated, boolean streamSpans, boolean resumable,
    long timeoutMs) {

  /** The seed the answer is sampled with, or null where it is not known (a stream read again). */
  Long seed() {
    return sampling == null ? null : sampling.seed();
  }
}
