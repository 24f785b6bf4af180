package io.pastaserve.interpreter.messaging;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.pastaserve.common.messaging.CancelCommand;
import io.pastaserve.common.messaging.DecodeSpanCommand;
import io.pastaserve.common.messaging.GenerateCommand;
import io.pastaserve.common.messaging.SpanEventEnvelope;
import io.pastaserve.common.messaging.SpanTokensEvent;
import io.pastaserve.interpreter.config.InterpreterProperties;
import io.pastaserve.interpreter.program.RequestTracker;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;
import org.springframework.kafka.annotation.KafkaListener;
import org.springframework.kafka.core.KafkaTemplate;
import org.springframework.kafka.support.KafkaHeaders;
import org.springframework.messaging.handler.annotation.Header;
import org.springframework.stereotype.Component;

/**
 * Requests in (recorded, then dispatched to the workers as a span job that carries the request's limits), span
 * events in (checked against the request's span tree, recorded and streamed in final order), cancellations in.
 * Unparseable messages go to the dead-letter topic.
 */
@Component
class InterpreterListeners {

  private static final Logger log = LoggerFactory.getLogger(InterpreterListeners.class);

  private final RequestTracker tracker;
  private final KafkaTemplate<String, String> kafka;
  private final ObjectMapper json;
  private final InterpreterProperties properties;
  private final Cancellations cancellations;

  InterpreterListeners(RequestTracker tracker, KafkaTemplate<String, String> kafka, ObjectMapper json,
      InterpreterProperties properties, Cancellations cancellations) {
    this.tracker = tracker;
    this.kafka = kafka;
    this.json = json;
    this.properties = properties;
    this.cancellations = cancellations;
  }

  @KafkaListener(id = "requests", topics = "${pasta.interpreter.requests-topic:pasta.requests}",
      groupId = "pasta-interpreters")
  void onRequest(String value) throws JsonProcessingException, InterruptedException {
    GenerateCommand command = json.readValue(value, GenerateCommand.class);
    MDC.put("requestId", command.requestId());
    try {
      String job = json.writeValueAsString(new DecodeSpanCommand(DecodeSpanCommand.VERSION, command.requestId(),
          "0", command.prompt(), command.sampling(), command.mode(), 1, command.replay(), command.traceParent(),
          tracker.limits()));
      RequestTracker.Start start = tracker.start(command, job);
      if (start == RequestTracker.Start.FINISHED) {
        log.debug("request redelivered after it ended; nothing to do");
        return;
      }
      // a request redelivered while it runs is dispatched again: the worker that runs it drops the copy (its claim
      // on the request holds), and the tokens are recorded once either way. The send is awaited: a failure is
      // retried by the error handler (this handler is idempotent), and a job lost anyway is sent again by the lease
      // watchdog when no worker has claimed it
      try {
        kafka.send(properties.spanJobsTopic(), command.requestId(), job).get(properties.sendTimeout().toMillis(),
            TimeUnit.MILLISECONDS);
      } catch (ExecutionException | TimeoutException e) {
        throw new IllegalStateException("the span job could not be sent: " + e, e);
      }
      log.debug("dispatched request ({})", start);
    } finally {
      MDC.remove("requestId");
    }
  }

  /**
   * Several consumers per instance (one per partition at most): span events are keyed by request, so each request's
   * events stay in order on one consumer while the Redis round trips of different requests overlap.
   */
  @KafkaListener(id = "span-events", topics = "${pasta.interpreter.span-events-topic:pasta.span-events}",
      groupId = "pasta-interpreters", concurrency = "${pasta.interpreter.span-events-concurrency:4}")
  void onSpanEvent(String value, @Header(KafkaHeaders.RECEIVED_PARTITION) int partition)
      throws JsonProcessingException {
    SpanEventEnvelope envelope = json.readValue(value, SpanEventEnvelope.class);
    if (!envelope.tokensEvents().isEmpty()) {
      for (SpanTokensEvent event : envelope.tokensEvents()) {
        if (tracker.apply(event, partition)) {
          // the request has ended here (a stop string across spans, or its state is gone): its spans stop now
          cancellations.send(event.requestId(), "ended by the interpreter");
          break;
        }
      }
    } else if (envelope.finished() != null) {
      tracker.finish(envelope.finished(), partition);
    } else {
      throw new IllegalArgumentException("span event of unknown type '" + envelope.type() + "'");
    }
  }

  @KafkaListener(id = "interpreter-cancel", topics = "${pasta.interpreter.cancel-topic:pasta.cancel}",
      groupId = "pasta-interpreters")
  void onCancel(String value) throws JsonProcessingException {
    CancelCommand cancel = json.readValue(value, CancelCommand.class);
    tracker.cancel(cancel.requestId());
  }
}
