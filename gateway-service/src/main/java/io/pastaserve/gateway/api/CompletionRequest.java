package io.pastaserve.gateway.api;

import java.util.List;

/**
 * A chat or text completion request, validated.
 *
 * @param chat whether it came to {@code /v1/chat/completions} (else {@code /v1/completions})
 * @param model the model asked for
 * @param prompt the prompt the model sees (chat: the messages' contents, see {@link RequestParser})
 * @param maxTokens tokens the answer may take
 * @param temperature 0 for greedy
 * @param topP nucleus threshold
 * @param seed seeds sampling: the caller's, or one drawn at random for this request (reported back in the
 *     response, so the answer can be had again); null only for a stream read again, whose seed is not known here
 * @param stop strings that end the answer
 * @param stream whether to stream server-sent events
 * @param includeUsage whether a streamed answer ends with a usage chunk
 * @param user the caller's end-user id (for the logs)
 * @param mode {@code async} or {@code serial}
 * @param includeAnnotated whether the response carries the annotated transcript
 * @param streamSpans whether the stream also carries {@code pasta.span} events (each span's text as it decodes)
 * @param resumable whether a client that disconnects leaves the request running, to read it again with
 *     {@code Last-Event-ID}
 * @param timeoutMs the caller's deadline in milliseconds (0: the server's); the server's is the most it gets
 */
record CompletionRequest(boolean chat, String model, String prompt, int maxTokens, double temperature, double topP,
    Long seed, List<String> stop, boolean stream, boolean includeUsage, String user, String mode,
    boolean includeAnnotated, boolean streamSpans, boolean resumable,
    long timeoutMs) {

  CompletionRequest {
    stop = List.copyOf(stop);
  }
}
