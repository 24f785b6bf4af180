package io.pastaserve.gateway.api;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.NullNode;
import io.pastaserve.common.output.OutputCodec;
import io.pastaserve.common.output.OutputEntry;
import io.pastaserve.common.request.Mode;
import io.pastaserve.gateway.auth.ApiKeyFilter;
import io.pastaserve.gateway.generation.GenerationSpec;
import io.pastaserve.gateway.generation.Generations;
import io.pastaserve.gateway.generation.StreamedEntry;
import io.pastaserve.gateway.model.ServedModel;
import io.pastaserve.gateway.workers.WorkerRegistry;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.core.io.buffer.DataBuffer;
import org.springframework.core.io.buffer.DataBufferUtils;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.web.reactive.function.BodyExtractors;
import org.springframework.web.reactive.function.server.ServerRequest;
import org.springframework.web.reactive.function.server.ServerResponse;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;

/**
 * {@code POST /v1/chat/completions}, {@code POST /v1/completions}, {@code GET /v1/models[/{id}]}. The body is read
 * up to the size limit (413 beyond), parsed and its prompt counted off the event loop; then the request is admitted
 * and enqueued, and its answer is returned whole or streamed as server-sent events ({@code data: {chunk}} ...
 * {@code data: [DONE]}). A streamed response is committed with its first token, so anything that fails before
 * (admission, no worker, deadline) still answers with its status; after that, a failure ends the stream with an
 * {@code error} event.
 */
public final class CompletionHandler {

  private static final Logger log = LoggerFactory.getLogger(CompletionHandler.class);

  private final ObjectMapper json;
  private final RequestParser parser;
  private final ServedModel model;
  private final Generations generations;
  private final WorkerRegistry workers;
  private final int maxBodyBytes;

  public CompletionHandler(ObjectMapper json, ServedModel model, Generations generations, WorkerRegistry workers,
      int maxBodyBytes, int defaultMaxTokens, int maxTokensLimit) {
    this.json = json;
    this.parser = new RequestParser(json, defaultMaxTokens, maxTokensLimit);
    this.model = model;
    this.generations = generations;
    this.workers = workers;
    this.maxBodyBytes = maxBodyBytes;
  }

  public Mono<ServerResponse> chat(ServerRequest request) {
    return complete(request, true);
  }

  public Mono<ServerResponse> completions(ServerRequest request) {
    return complete(request, false);
  }

  public Mono<ServerResponse> models(ServerRequest request) {
    return ServerResponse.ok().contentType(MediaType.APPLICATION_JSON)
        .bodyValue(new Responses.ModelList("list", List.of(modelEntry())));
  }

  public Mono<ServerResponse> model(ServerRequest request) {
    String id = request.pathVariable("id");
    if (!id.equals(model.name())) {
      return Mono.error(unknownModel(id));
    }
    return ServerResponse.ok().contentType(MediaType.APPLICATION_JSON).bodyValue(modelEntry());
  }

  private Responses.Model modelEntry() {
    return new Responses.Model(model.name(), "model", 0, "pasta-serve", model.maxContext(),
        workers.serving(model.name()).size());
  }

  private ApiException unknownModel(String id) {
    return new ApiException(HttpStatus.NOT_FOUND, "invalid_request_error", "model_not_found", "model",
        "the model '" + abbreviate(id) + "' does not exist; this server serves '" + model.name() + "'", null);
  }

  private Mono<ServerResponse> complete(ServerRequest request, boolean chat) {
    long length = request.headers().contentLength().orElse(-1);
    if (length > maxBodyBytes) {
      return Mono.error(tooLarge());
    }
    String keyName = request.exchange().getAttributeOrDefault(ApiKeyFilter.KEY_NAME, "anonymous");
    return DataBufferUtils.join(request.body(BodyExtractors.toDataBuffers()), maxBodyBytes)
        .map(CompletionHandler::bytes)
        .defaultIfEmpty(new byte[0])
        .onErrorMap(org.springframework.core.io.buffer.DataBufferLimitException.class, e -> tooLarge())
        .publishOn(Schedulers.parallel())
        .map(body -> {
          CompletionRequest req = parser.parse(body, chat);
          if (!req.model().equals(model.name())) {
            throw unknownModel(req.model());
          }
          int promptTokens = model.promptTokens(req.prompt());
          if (promptTokens >= model.maxContext()) {
            throw new ApiException(HttpStatus.BAD_REQUEST, "invalid_request_error", "context_length_exceeded",
                chat ? "messages" : "prompt", "this model's maximum context length is " + model.maxContext()
                    + " tokens, but the prompt has " + promptTokens + " tokens (chat template included); "
                    + "shorten it", null);
          }
          return new Admitted(req, promptTokens);
        })
        .flatMap(a -> {
          CompletionRequest req = a.request();
          java.time.Duration timeout = req.timeoutMs() > 0 ? java.time.Duration.ofMillis(req.timeoutMs()) : null;
          GenerationSpec spec = new GenerationSpec(req.prompt(), a.promptTokens(), req.sampling(), req.mode(), keyName,
              req.streamSpans(), req.resumable(), timeout);
          long created = Instant.now().getEpochSecond();
          return generations.start(spec, chat ? "chatcmpl-" : "cmpl-")
              .flatMap(g -> req.stream() ? stream(req, g, created, a.promptTokens())
                  : whole(req, g, created, a.promptTokens()));
        });
  }

  private record Admitted(CompletionRequest request, int promptTokens) {
  }

  private Mono<ServerResponse> whole(CompletionRequest req, Generations.Generation g, long created,
      int promptTokens) {
    return g.output().collectList().flatMap(entries -> {
      StringBuilder text = new StringBuilder();
      OutputEntry.Done done = null;
      for (StreamedEntry e : entries) {
        if (e.isDone()) {
          done = e.done();
        } else {
          text.append(e.text());
        }
      }
      if (done == null) {
        return Mono.error(new IllegalStateException("output of " + g.requestId() + " ended without a final entry"));
      }
      String reason;
      try {
        reason = Endings.answer(done).wire();
      } catch (ApiException failed) {
        log.info("request {}: {}", g.requestId(), failed.getMessage());
        return Mono.error(failed);
      }
      List<?> choices = req.chat()
          ? List.of(new Responses.ChatChoice(0, new Responses.Message("assistant", text.toString()), null, reason))
          : List.of(new Responses.TextChoice(0, text.toString(), null, reason));
      Responses.Completion body = new Responses.Completion(g.requestId(), req.chat() ? "chat.completion"
          : "text_completion", created, model.name(), choices, usage(done, promptTokens), pasta(req, done));
      return ServerResponse.ok().contentType(MediaType.APPLICATION_JSON).bodyValue(body);
    });
  }

  private Mono<ServerResponse> stream(CompletionRequest req, Generations.Generation g, long created,
      int promptTokens) {
    String object = req.chat() ? "chat.completion.chunk" : "text_completion";
    Object usageField = req.includeUsage() ? NullNode.getInstance() : null;
    AtomicBoolean started = new AtomicBoolean();
    Flux<String> events = g.output().concatMap(entry -> {
      if (entry.isIdle()) {
        // a comment line while a started stream waits for text: a client that went away is noticed at this
        // write, so its spans are cancelled within a second even while the next text waits on a fork; SSE
        // clients ignore comments; before the first event nothing is written (the status is not committed)
        return started.get() ? Flux.just(": keep-alive\n\n") : Flux.empty();
      }
      // an ending that is not an answer fails the stream: before the first event with its status, after it with
      // an error event
      String reason = entry.isDone() ? Endings.answer(entry.done()).wire() : null;
      List<String> out = new ArrayList<>(4);
      if (started.compareAndSet(false, true) && req.chat()) {
        out.add(event(null, new Responses.Chunk(g.requestId(), object, created, model.name(),
            List.of(new Responses.ChatChunkChoice(0, new Responses.Delta("assistant", ""), null, null)),
            usageField, null)));
      }
      if (entry.entry() instanceof OutputEntry.SpanProgress span && req.streamSpans()) {
        out.add("event: pasta.span\ndata: " + OutputCodec.spanJson(span) + "\n\n");
      }
      if (!entry.text().isEmpty()) {
        out.add(event(entry.id(), new Responses.Chunk(g.requestId(), object, created, model.name(),
            List.of(choice(req, entry.text(), null)), usageField, null)));
      }
      if (entry.isDone()) {
        out.add(event(entry.id(), new Responses.Chunk(g.requestId(), object, created, model.name(),
            List.of(choice(req, req.chat() ? null : "", reason)), usageField,
            pasta(req, entry.done()))));
        if (req.includeUsage()) {
          out.add(event(null, new Responses.Chunk(g.requestId(), object, created, model.name(), List.of(),
              usage(entry.done(), promptTokens), null)));
        }
        out.add("data: [DONE]\n\n");
      }
      return Flux.fromIterable(out);
    }).onErrorResume(e -> {
      if (!started.get()) {
        return Flux.error(e);
      }
      log.info("request {}: stream ended early: {}", g.requestId(), e.getMessage());
      ApiException api = e instanceof ApiException a ? a
          : e instanceof io.pastaserve.gateway.generation.GenerationException ge ? ge.toApi()
          : new ApiException(HttpStatus.INTERNAL_SERVER_ERROR, "server_error", "internal_error", null,
              "the stream failed", null);
      return Flux.just(event(null, ErrorEnvelope.of(api)), "data: [DONE]\n\n");
    });
    return ServerResponse.ok()
        .contentType(MediaType.TEXT_EVENT_STREAM)
        .header(HttpHeaders.CACHE_CONTROL, "no-cache")
        .header("X-Accel-Buffering", "no")
        .body((message, context) -> message.writeAndFlushWith(events.map(s -> Mono.just(
            message.bufferFactory().wrap(s.getBytes(StandardCharsets.UTF_8))))));
  }

  private static final java.util.regex.Pattern GENERATION_ID =
      java.util.regex.Pattern.compile("(chatcmpl|cmpl)-[0-9a-f]{32}");

  /**
   * {@code GET /v1/pasta/streams/{id}}: a streamed answer read again from where the client lost it ({@code
   * Last-Event-ID}, the {@code id:} of the last event it received; from the start without it). The request must
   * have been started with {@code "pasta":{"resumable":true}} for a disconnect not to cancel it; its output stays
   * readable for the interpreter's {@code finished-ttl} after it ends.
   */
  public Mono<ServerResponse> resume(ServerRequest request) {
    String id = request.pathVariable("id");
    if (!GENERATION_ID.matcher(id).matches()) {
      return Mono.error(new ApiException(HttpStatus.NOT_FOUND, "invalid_request_error", "stream_not_found", "id",
          "no stream '" + abbreviate(id) + "'", null));
    }
    String last = request.headers().firstHeader("Last-Event-ID");
    String after = last != null && last.matches("\\d+-\\d+") ? last : "0-0";
    boolean chat = id.startsWith("chatcmpl-");
    CompletionRequest req = new CompletionRequest(chat, model.name(), "", null, true, false, "", Mode.ASYNC, false,
        false, true, 0);
    return generations.resume(id, after)
        .switchIfEmpty(Mono.error(() -> new ApiException(HttpStatus.NOT_FOUND, "invalid_request_error",
            "stream_not_found", "id", "no stream '" + id + "': it never started or has expired", null)))
        .flatMap(output -> stream(req, new Generations.Generation(id, output), Instant.now().getEpochSecond(), 0));
  }

  private static Object choice(CompletionRequest req, String text, String finishReason) {
    return req.chat()
        ? new Responses.ChatChunkChoice(0, text == null ? new Responses.Delta(null, null)
            : new Responses.Delta(null, text), null, finishReason)
        : new Responses.TextChunkChoice(0, text, null, finishReason);
  }

  private String event(String id, Object chunk) {
    try {
      String data = "data: " + json.writeValueAsString(chunk) + "\n\n";
      return id == null ? data : "id: " + id + "\n" + data;
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Usage as the worker counted it; the prompt as counted at admission when the answer ended before the worker. */
  private static Responses.Usage usage(OutputEntry.Done done, int promptTokensAtAdmission) {
    long prompt = done.promptTokens() > 0 ? done.promptTokens() : promptTokensAtAdmission;
    long completion = done.completionTokens();
    return new Responses.Usage(prompt, completion, prompt + completion);
  }

  private static Responses.Pasta pasta(CompletionRequest req, OutputEntry.Done done) {
    long total = done.completionTokens();
    long critical = done.criticalPathTokens();
    List<Responses.Span> spans = done.spans().stream().map(t -> new Responses.Span(t.spanId(), t.parentSpanId(),
        t.topic(), t.tokens(), round(t.startMs()), round(t.endMs()), t.worker())).toList();
    return new Responses.Pasta(req.mode(), req.seed(), done.forks(), total, critical,
        critical == 0 ? 1.0 : round((double) total / critical), spans,
        req.includeAnnotated() ? done.annotated() : null);
  }

  private static double round(double v) {
    return Math.round(v * 1000) / 1000.0;
  }

  private ApiException tooLarge() {
    return new ApiException(HttpStatus.PAYLOAD_TOO_LARGE, "invalid_request_error", "request_too_large", null,
        "the request body is larger than this server accepts (" + maxBodyBytes + " bytes)", null);
  }

  private static byte[] bytes(DataBuffer buffer) {
    try {
      byte[] out = new byte[buffer.readableByteCount()];
      buffer.read(out);
      return out;
    } finally {
      DataBufferUtils.release(buffer);
    }
  }

  private static String abbreviate(String s) {
    return s.length() > 64 ? s.substring(0, 64) + "..." : s;
  }
}
