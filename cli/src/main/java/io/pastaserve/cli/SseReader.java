package io.pastaserve.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.pastaserve.cli.LoadReport.Sample;
import java.io.BufferedReader;
import java.io.IOException;
import java.util.function.LongSupplier;

/**
 * Reads one streamed chat completion ({@code text/event-stream}) into a {@link Sample}: {@code data: {json}} lines up
 * to {@code data: [DONE]}. Blank lines, comments ({@code :...}) and other fields ({@code id:}, {@code event:},
 * {@code retry:}) are skipped; each {@code data:} line is one chunk, as OpenAI-compatible servers send them.
 *
 * <ul>
 *   <li>A chunk's text is {@code choices[0].delta.content}; absent, null or empty is no text. The first chunk with
 *       text stamps the first token.</li>
 *   <li>The usage chunk ({@code choices: []}) gives {@code usage.completion_tokens}; without one the count of
 *       chunks with text stands in for it.</li>
 *   <li>{@code data: {"error": {...}}}, a chunk that is not JSON, or an end of stream before {@code [DONE]} fail
 *       the request as {@link LoadReport#STREAM}.</li>
 * </ul>
 *
 * <p>Stateless apart from its clock; one instance serves every client thread.
 */
final class SseReader {

  private static final int MAX_MESSAGE = 200;

  private final ObjectMapper mapper;
  private final LongSupplier clock;

  /** {@code clock}: nanoseconds, the same clock as the {@code startNanos} passed to {@link #read}. */
  SseReader(ObjectMapper mapper, LongSupplier clock) {
    this.mapper = mapper;
    this.clock = clock;
  }

  /**
   * The sample of one answer whose request was sent at {@code startNanos}; reads {@code lines} to {@code [DONE]}
   * (or the end) and stamps each chunk when its line has been read.
   *
   * @throws IOException when reading fails (the caller tells a time-out from a broken connection)
   */
  Sample read(BufferedReader lines, long startNanos) throws IOException {
    long firstToken = -1;
    long chunks = 0;
    long usageTokens = -1;
    String line;
    while ((line = lines.readLine()) != null) {
      if (!line.startsWith("data:")) {
        continue;
      }
      String data = line.substring(line.startsWith("data: ") ? 6 : 5);
      long now = clock.getAsLong();
      if (data.equals("[DONE]")) {
        return new Sample(startNanos, firstToken, now, chunks, usageTokens >= 0 ? usageTokens : chunks, null, null);
      }
      JsonNode chunk;
      try {
        chunk = mapper.readTree(data);
      } catch (JsonProcessingException e) {
        return new Sample(startNanos, firstToken, now, chunks, chunks, LoadReport.STREAM,
            "malformed chunk: " + abbreviate(data));
      }
      if (chunk.hasNonNull("error")) {
        return new Sample(startNanos, firstToken, now, chunks, chunks, LoadReport.STREAM,
            errorMessage(chunk.get("error")));
      }
      JsonNode content = chunk.path("choices").path(0).path("delta").path("content");
      if (content.isTextual() && !content.asText().isEmpty()) {
        if (firstToken < 0) {
          firstToken = now;
        }
        chunks++;
      }
      JsonNode completion = chunk.path("usage").path("completion_tokens");
      if (completion.canConvertToLong() && completion.isIntegralNumber()) {
        usageTokens = completion.asLong();
      }
    }
    return new Sample(startNanos, firstToken, clock.getAsLong(), chunks, chunks, LoadReport.STREAM,
        "stream ended before [DONE]");
  }

  /** {@code error.message} of an error body, or the start of the body when it has none. */
  String errorBodyMessage(String body) {
    try {
      JsonNode root = mapper.readTree(body);
      if (root != null && root.hasNonNull("error")) {
        return errorMessage(root.get("error"));
      }
    } catch (JsonProcessingException e) {
      // not JSON: the body itself says what went wrong
    }
    return body.isBlank() ? "(empty body)" : abbreviate(body.strip());
  }

  private static String errorMessage(JsonNode error) {
    JsonNode message = error.path("message");
    return abbreviate(message.isTextual() ? message.asText() : error.toString());
  }

  private static String abbreviate(String s) {
    String line = s.replace('\n', ' ');
    return line.length() <= MAX_MESSAGE ? line : line.substring(0, MAX_MESSAGE - 3) + "...";
  }
}
