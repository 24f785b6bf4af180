package io.pastaserve.interpreter.messaging;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.pastaserve.common.messaging.CancelCommand;
import java.time.Duration;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.kafka.core.KafkaTemplate;

/**
 * Tells the workers to stop a request that has ended in the interpreter (a stop string, lost tokens, lost state). A
 * send that fails is logged: the workers also stop every request whose hash says it has finished (their sweep), so a
 * lost cancellation delays the stop, it does not prevent it.
 */
public final class Cancellations {

  private static final Logger log = LoggerFactory.getLogger(Cancellations.class);

  private final KafkaTemplate<String, String> kafka;
  private final ObjectMapper json;
  private final String topic;
  private final Duration timeout;

  public Cancellations(KafkaTemplate<String, String> kafka, ObjectMapper json, String topic, Duration timeout) {
    this.kafka = kafka;
    this.json = json;
    this.topic = topic;
    this.timeout = timeout;
  }

  /** Publishes the cancellation and waits for the broker's acknowledgement, at most the send timeout. */
  public void send(String requestId, String reason) {
    try {
      kafka.send(topic, requestId, json.writeValueAsString(new CancelCommand(CancelCommand.VERSION, requestId,
          reason))).get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (ExecutionException | TimeoutException | JsonProcessingException e) {
      log.warn("request {}: its cancellation could not be sent ({}); the workers' sweep stops it", requestId,
          e.toString());
    }
  }
}
