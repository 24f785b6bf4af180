package io.pastaserve.cli.chaos;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The client side of the harness: one chat completion against the gateway, whole or streamed, and what came of it
 * as a {@link Response}. Every request carries {@code pasta.timeout_ms} = the deadline; the client itself gives up
 * at the deadline plus a margin, and that is what {@link Response.Kind#TIMED_OUT} (a hang) means. Thread-safe.
 */
final class ChatClient implements AutoCloseable {

  private final int port;
  private final String apiKey;
  private final String model;
  private final int maxTokens;
  private final Duration deadline;
  private final Duration margin;
  private final ObjectMapper mapper = new ObjectMapper();
  private final HttpClient http;
  private final ScheduledExecutorService watchdog;

  ChatClient(int port, String apiKey, String model, int maxTokens, Duration deadline, Duration margin) {
    this.port = port;
    this.apiKey = apiKey;
    this.model = model;
    this.maxTokens = maxTokens;
    this.deadline = deadline;
    this.margin = margin;
    this.http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
        .connectTimeout(Duration.ofSeconds(5)).build();
    this.watchdog = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "pasta-chaos-watchdog");
      t.setDaemon(true);
      return t;
    });
  }

  String apiKey() {
    return apiKey;
  }

  /** The request body: greedy, seed 0, {@code max_tokens}, the mode and the deadline. */
  String body(String prompt, String mode, boolean stream) {
    ObjectNode root = mapper.createObjectNode();
    root.put("model", model);
    root.putArray("messages").addObject().put("role", "user").put("content", prompt);
    root.put("temperature", 0);
    root.put("seed", 0);
    root.put("max_tokens", maxTokens);
    root.put("stream", stream);
    root.putObject("pasta").put("mode", mode).put("timeout_ms", deadline.toMillis());
    return root.toString();
  }

  /** One request to its end, or to the deadline plus the margin. Never throws. */
  Response send(String prompt, String mode, boolean stream) {
    HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v1/chat/completions"))
        .header("Authorization", "Bearer " + apiKey).header("Content-Type", "application/json")
        .timeout(deadline.plus(margin))
        .POST(HttpRequest.BodyPublishers.ofString(body(prompt, mode, stream), StandardCharsets.UTF_8)).build();
    long giveUpAt = System.nanoTime() + deadline.plus(margin).toNanos();
    HttpResponse<InputStream> response;
    try {
      response = http.send(request, HttpResponse.BodyHandlers.ofInputStream());
    } catch (HttpTimeoutException e) {
      return Response.timedOut(0, "", "");
    } catch (IOException e) {
      return Response.broken(0, "", "I/O: " + e, "");
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return Response.broken(0, "", "interrupted", "");
    }
    InputStream body = response.body();
    AtomicBoolean timedOut = new AtomicBoolean();
    ScheduledFuture<?> alarm = watchdog.schedule(() -> {
      timedOut.set(true);
      try {
        body.close();
      } catch (IOException ignored) {
        // closing is all the alarm does
      }
    }, Math.max(0, giveUpAt - System.nanoTime()), TimeUnit.NANOSECONDS);
    try (body) {
      if (response.statusCode() != 200) {
        return errorResponse(response.statusCode(), new String(body.readAllBytes(), StandardCharsets.UTF_8));
      }
      return stream ? readStream(body, timedOut) : readWhole(body);
    } catch (IOException e) {
      return timedOut.get() ? Response.timedOut(response.statusCode(), "", "")
          : Response.broken(response.statusCode(), "", "I/O: " + e, "");
    } finally {
      alarm.cancel(false);
    }
  }

  private Response readWhole(InputStream body) throws IOException {
    String text = new String(body.readAllBytes(), StandardCharsets.UTF_8);
    try {
      JsonNode root = mapper.readTree(text);
      JsonNode choice = root.path("choices").path(0);
      JsonNode content = choice.path("message").path("content");
      if (!content.isTextual()) {
        return Response.broken(200, "", "no choices[0].message.content in " + abbreviate(text), "");
      }
      return Response.completed(choice.path("finish_reason").asText(""), content.asText(), root.path("id").asText(""));
    } catch (JsonProcessingException e) {
      return Response.broken(200, "", "not JSON: " + abbreviate(text), "");
    }
  }

  /** Reads SSE to {@code [DONE]}; the text is the concatenated {@code delta.content}. */
  private Response readStream(InputStream body, AtomicBoolean timedOut) {
    StringBuilder text = new StringBuilder();
    String finishReason = "";
    String error = null;
    String id = "";
    BufferedReader lines = new BufferedReader(new InputStreamReader(body, StandardCharsets.UTF_8));
    try {
      String line;
      while ((line = lines.readLine()) != null) {
        if (!line.startsWith("data:")) {
          continue; // comments (": keep-alive"), id:, event:, blank lines
        }
        String data = line.substring(line.startsWith("data: ") ? 6 : 5);
        if (data.equals("[DONE]")) {
          if (error != null) {
            return Response.streamError(text.toString(), error, id);
          }
          if (finishReason.isEmpty()) {
            return Response.broken(200, text.toString(), "[DONE] without a finish_reason", id);
          }
          return Response.completed(finishReason, text.toString(), id);
        }
        JsonNode chunk;
        try {
          chunk = mapper.readTree(data);
        } catch (JsonProcessingException e) {
          return Response.broken(200, text.toString(), "malformed chunk: " + abbreviate(data), id);
        }
        if (chunk.hasNonNull("error")) {
          error = errorOf(chunk.get("error"));
          continue;
        }
        if (id.isEmpty() && chunk.hasNonNull("id")) {
          id = chunk.get("id").asText();
        }
        JsonNode choice = chunk.path("choices").path(0);
        JsonNode content = choice.path("delta").path("content");
        if (content.isTextual()) {
          text.append(content.asText());
        }
        if (choice.hasNonNull("finish_reason")) {
          finishReason = choice.get("finish_reason").asText();
        }
      }
    } catch (IOException e) {
      if (timedOut.get()) {
        return Response.timedOut(200, text.toString(), id);
      }
      return error != null ? Response.streamError(text.toString(), error, id)
          : Response.broken(200, text.toString(), "I/O: " + e, id);
    }
    if (timedOut.get()) {
      return Response.timedOut(200, text.toString(), id);
    }
    return error != null ? Response.streamError(text.toString(), error, id)
        : Response.broken(200, text.toString(), "stream ended before [DONE]", id);
  }

  /**
   * A streamed request over a plain socket that hangs up (closes the connection) as soon as the first text
   * arrives: a client that goes away mid-stream. {@link Response.Kind#CLIENT_CANCELLED} when it did.
   */
  Response sendAndHangUp(String prompt, String mode) {
    byte[] json = body(prompt, mode, true).getBytes(StandardCharsets.UTF_8);
    String head = "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:" + port + "\r\nAuthorization: Bearer "
        + apiKey + "\r\nContent-Type: application/json\r\nAccept: text/event-stream\r\nContent-Length: "
        + json.length + "\r\n\r\n";
    String id = "";
    AtomicBoolean timedOut = new AtomicBoolean();
    try (Socket socket = new Socket("127.0.0.1", port)) {
      // keep-alive comments keep every read short: the deadline is a watchdog over the whole exchange
      ScheduledFuture<?> alarm = watchdog.schedule(() -> {
        timedOut.set(true);
        try {
          socket.close();
        } catch (IOException ignored) {
          // closing is all the alarm does
        }
      }, deadline.plus(margin).toMillis(), TimeUnit.MILLISECONDS);
      try {
        OutputStream out = socket.getOutputStream();
        out.write(head.getBytes(StandardCharsets.US_ASCII));
        out.write(json);
        out.flush();
        BufferedReader lines = new BufferedReader(new InputStreamReader(socket.getInputStream(),
            StandardCharsets.UTF_8));
        String status = lines.readLine();
        if (status == null) {
          return Response.broken(0, "", "connection closed before a status line", "");
        }
        String[] parts = status.split(" ");
        int code = parts.length > 1 ? Integer.parseInt(parts[1]) : 0;
        if (code != 200) {
          return Response.httpError(code, status);
        }
        String line;
        while ((line = lines.readLine()) != null) {
          if (!line.startsWith("data: {")) {
            continue;
          }
          JsonNode chunk;
          try {
            chunk = mapper.readTree(line.substring(6));
          } catch (JsonProcessingException splitByChunking) {
            continue;
          }
          if (chunk.hasNonNull("error")) {
            return Response.streamError("", errorOf(chunk.get("error")), id);
          }
          id = chunk.path("id").asText(id);
          String text = chunk.path("choices").path(0).path("delta").path("content").asText("");
          if (!text.isEmpty()) {
            return Response.clientCancelled(text, id); // closing the socket is the hang-up
          }
        }
        return timedOut.get() ? Response.timedOut(200, "", id)
            : Response.broken(200, "", "stream ended before any text", id);
      } finally {
        alarm.cancel(false);
      }
    } catch (IOException | NumberFormatException e) {
      return timedOut.get() ? Response.timedOut(200, "", id) : Response.broken(0, "", "I/O: " + e, id);
    }
  }

  private Response errorResponse(int status, String body) {
    try {
      JsonNode root = mapper.readTree(body);
      if (root != null && root.hasNonNull("error") && root.get("error").hasNonNull("message")) {
        return Response.httpError(status, errorOf(root.get("error")));
      }
    } catch (JsonProcessingException e) {
      // not the envelope
    }
    return Response.broken(status, "", "HTTP " + status + " without the error envelope: " + abbreviate(body), "");
  }

  /** {@code code: message}, or the message alone when there is no code. */
  private static String errorOf(JsonNode error) {
    String message = error.path("message").asText(error.toString());
    String code = error.path("code").asText("");
    return abbreviate(code.isEmpty() || code.equals("null") ? message : code + ": " + message);
  }

  private static String abbreviate(String s) {
    String line = s.replace('\n', ' ');
    return line.length() <= 200 ? line : line.substring(0, 197) + "...";
  }

  @Override
  public void close() {
    watchdog.shutdownNow();
  }
}
