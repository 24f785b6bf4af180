package io.pastaserve.worker.messaging;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.pastaserve.common.lang.OrderedAssembler;
import io.pastaserve.common.lang.SpanId;
import io.pastaserve.common.messaging.RequestFinishedEvent;
import io.pastaserve.common.messaging.SpanEventEnvelope;
import io.pastaserve.common.messaging.SpanTokensEvent;
import io.pastaserve.common.messaging.TokenItem;
import io.pastaserve.common.request.Mode;
import io.pastaserve.common.request.Sampling;
import io.pastaserve.testing.KafkaBrokerProcess;
import io.pastaserve.worker.TestModels;
import io.pastaserve.worker.engine.Engine;
import io.pastaserve.worker.engine.EngineConfig;
import io.pastaserve.worker.engine.GenerationRequest;
import io.pastaserve.worker.engine.GenerationResult;
import io.pastaserve.worker.engine.ForkPlacement;
import io.pastaserve.worker.engine.ForkPrefix;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.springframework.kafka.core.DefaultKafkaProducerFactory;
import org.springframework.kafka.core.KafkaTemplate;

/**
 * Span events while the broker is away, through a real broker that is stopped and started again and the engine
 * decoding with the bundled model: the engine's steps never wait for the broker, every event arrives once it is
 * back, in an order that rebuilds the engine's answer exactly, and a request whose events cannot be sent in time
 * fails on this worker instead of ending with a shortened answer.
 */
class SpanEventsBrokerOutageTest {

  private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(
      SpanEventsBrokerOutageTest.class);

  static KafkaBrokerProcess broker;
  static Engine engine;
  static final ObjectMapper JSON = new ObjectMapper();

  String topic;
  DefaultKafkaProducerFactory<String, String> producers;
  SpanEventSender sender;

  @BeforeAll
  static void start() throws Exception {
    broker = KafkaBrokerProcess.start(1);
    engine = new Engine(TestModels.pastaTiny(), EngineConfig.defaults());
  }

  @AfterAll
  static void stop() {
    engine.close();
    broker.close();
  }

  @AfterEach
  void closeClients() throws Exception {
    if (sender != null) {
      sender.close();
    }
    if (producers != null) {
      producers.destroy();
    }
    if (!listening()) {
      broker.launch();
    }
  }

  /**
   * The producer may wait two minutes for metadata and five for a delivery: were a send made on the engine's thread,
   * the request below could not finish within its one-minute bound while the broker is away.
   */
  @Test
  void theEngineKeepsDecoding_whileTheBrokerIsAway_andEveryEventArrivesOnceItIsBack() throws Exception {
    KafkaTemplate<String, String> kafka = producer(120_000, 300_000, 30_000);
    sender = sender(kafka, Duration.ofMinutes(10));
    broker.stop();

    String id = "outage-" + UUID.randomUUID();
    SpanEventPublisher publisher = publisher(id, reason -> {
    });
    long start = System.nanoTime();
    CompletableFuture<GenerationResult> running = engine.submit(request(id), publisher);
    await("the request decodes to its end with the broker away").atMost(Duration.ofSeconds(60))
        .until(running::isDone);
    GenerationResult result = running.join();
    long decodedMs = (System.nanoTime() - start) / 1_000_000;
    assertThat(result.stats().totalTokens()).isGreaterThan(10);
    finish(publisher, id, result);
    int waiting = sender.pending();

    broker.launch();
    long back = System.nanoTime();
    Received received = receive(id, Duration.ofSeconds(120));
    log.info("broker away: {} tokens ({} forks) decoded in {} ms, {} envelopes waiting; all arrived {} ms after "
        + "the broker was back", result.stats().totalTokens(), result.stats().forks(), decodedMs, waiting,
        (System.nanoTime() - back) / 1_000_000);
    assertThat(received.gaps).as("events arrived after a missing one").isEmpty();
    assertThat(received.assembler.complete()).isTrue();
    assertThat(received.assembler.assembled()).isEqualTo(result.text());
  }

  /**
   * Records the producer could not deliver (its delivery timeout passed while the broker was away) are sent again:
   * the answer arrives whole, never shortened.
   */
  @Test
  void recordsTheBrokerDidNotTake_areSentAgain_soTheAnswerArrivesWhole() throws Exception {
    KafkaTemplate<String, String> kafka = producer(1_000, 2_000, 1_000);
    kafka.send(topic, "warm-up", "{}").get();
    sender = sender(kafka, Duration.ofMinutes(10));
    broker.stop();

    String id = "retried-" + UUID.randomUUID();
    GenerationResult result = runToEnd(id);
    await("a record's delivery failed").atMost(Duration.ofSeconds(60))
        .until(() -> producerErrors(kafka) >= 1);

    broker.launch();
    Received received = receive(id, Duration.ofSeconds(120));
    assertThat(received.gaps).as("events arrived after a missing one").isEmpty();
    assertThat(received.assembler.assembled()).isEqualTo(result.text());
    assertThat(received.finished.finishReason()).isEqualTo(result.finishReason());
  }

  /**
   * Past {@code event-delivery-timeout} the request fails here: its failure handler runs (the worker hands it to
   * another worker), and nothing more of it is sent, so no shortened answer ever ends it.
   */
  @Test
  void aRequestWhoseEventsCannotBeSentInTime_failsHere_andNothingOfItIsSentAfter() throws Exception {
    KafkaTemplate<String, String> kafka = producer(500, 1_000, 500);
    kafka.send(topic, "warm-up", "{}").get();
    sender = sender(kafka, Duration.ofSeconds(3));
    broker.stop();

    String id = "failed-" + UUID.randomUUID();
    AtomicReference<String> failure = new AtomicReference<>();
    SpanEventPublisher publisher = publisher(id, failure::set);
    GenerationResult result = engine.submit(request(id), publisher).join();
    finish(publisher, id, result);
    await("the request fails here").atMost(Duration.ofSeconds(60)).until(() -> failure.get() != null);
    assertThat(failure.get()).contains("could not be sent");
    assertThat(publisher.failed()).isTrue();
    assertThat(sender.pending()).isZero();

    broker.launch();
    String after = "after-" + UUID.randomUUID();
    // the producer gives a record 1 s: the relaunched broker may take longer to take one
    await("a record after the broker's return").atMost(Duration.ofSeconds(60)).ignoreExceptions()
        .until(() -> kafka.send(topic, after, "{}").get() != null);
    List<ConsumerRecord<String, String>> records = readUntil(after, Duration.ofSeconds(60));
    assertThat(records).as("nothing of the failed request reaches the broker once it failed")
        .noneMatch(r -> r.key().equals(id));
  }

  /** Beyond {@code event-queue-capacity} an envelope is refused at once, and its request fails here. */
  @Test
  void anEnvelopeBeyondTheQueuesCapacity_failsItsRequestAtOnce() throws Exception {
    topic = "events-" + UUID.randomUUID();
    Map<String, Object> config = new HashMap<>();
    // nothing listens there: the first record stays in flight
    int closedPort;
    try (java.net.ServerSocket socket = new java.net.ServerSocket(0)) {
      closedPort = socket.getLocalPort();
    }
    config.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, "127.0.0.1:" + closedPort);
    config.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class);
    config.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class);
    config.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, 60_000);
    producers = new DefaultKafkaProducerFactory<>(config);
    sender = new SpanEventSender(new KafkaTemplate<>(producers), JSON, new MessagingProperties("jobs", topic,
        "cancel", "forks", Duration.ZERO, 16, Duration.ofSeconds(1), 2, Duration.ofMinutes(10), Duration.ofSeconds(30),
        Duration.ofMinutes(1), Duration.ofSeconds(5), ForkPlacement.LOCAL, ForkPrefix.TOKENS, 0),
        new SimpleMeterRegistry());
    AtomicReference<String> failure = new AtomicReference<>();
    SpanEventSender.Channel channel = sender.open("full", failure::set);
    SpanEventEnvelope envelope = SpanEventEnvelope.of(new SpanTokensEvent(SpanTokensEvent.VERSION, "full", "0", "",
        List.of(new TokenItem(0, 7, "a", List.of())), "", false));
    assertThat(channel.offer(envelope)).isTrue();
    assertThat(channel.offer(envelope)).isTrue();
    assertThat(failure.get()).isNull();
    assertThat(channel.offer(envelope)).isFalse();
    assertThat(failure.get()).contains("more than 2 span events");
    assertThat(channel.failed()).isTrue();
    assertThat(sender.pending()).as("what the failed request held is let go").isZero();
    assertThat(sender.open("other", reason -> {
    }).offer(envelope)).as("room for other requests").isTrue();
  }

  private GenerationResult runToEnd(String id) throws Exception {
    SpanEventPublisher publisher = publisher(id, reason -> {
    });
    GenerationResult result = engine.submit(request(id), publisher).join();
    finish(publisher, id, result);
    return result;
  }

  /** What the worker does when the engine is done with a request: what is buffered, then the finish. */
  private static void finish(SpanEventPublisher publisher, String id, GenerationResult result) {
    publisher.flush();
    publisher.send(SpanEventEnvelope.of(new RequestFinishedEvent(RequestFinishedEvent.VERSION, id,
        result.finishReason(), "", 0, result.stats().totalTokens(), 0,
        result.stats().forks(), "", List.of())));
  }

  private static GenerationRequest request(String id) throws Exception {
    String text = TestModels.heldoutPrompts().get(0);
    return GenerationRequest.of(id, text, Sampling.greedy(96), Mode.ASYNC);
  }

  private SpanEventPublisher publisher(String id, java.util.function.Consumer<String> onFailure) {
    return new SpanEventPublisher(sender.open(id, onFailure), id, "worker-test", Duration.ZERO);
  }

  private SpanEventSender sender(KafkaTemplate<String, String> kafka, Duration deliveryTimeout) {
    return new SpanEventSender(kafka, JSON, new MessagingProperties("jobs", topic, "cancel", "forks", Duration.ZERO,
        16, Duration.ofSeconds(1), 65536, deliveryTimeout, Duration.ofSeconds(30), Duration.ofMinutes(1),
        Duration.ofSeconds(5), ForkPlacement.LOCAL, ForkPrefix.TOKENS, 0), new SimpleMeterRegistry());
  }

  /** A fresh topic and a producer that has not sent yet (no metadata), with the given limits. */
  private KafkaTemplate<String, String> producer(int maxBlockMs, int deliveryTimeoutMs, int requestTimeoutMs)
      throws Exception {
    topic = "events-" + UUID.randomUUID();
    try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers()))) {
      admin.createTopics(List.of(new NewTopic(topic, 1, (short) 1))).all().get();
    }
    Map<String, Object> config = new HashMap<>();
    config.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers());
    config.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class);
    config.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class);
    config.put(ProducerConfig.ACKS_CONFIG, "all");
    config.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
    config.put(ProducerConfig.LINGER_MS_CONFIG, 0);
    config.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, maxBlockMs);
    config.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, deliveryTimeoutMs);
    config.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, requestTimeoutMs);
    producers = new DefaultKafkaProducerFactory<>(config);
    return new KafkaTemplate<>(producers);
  }

  private static double producerErrors(KafkaTemplate<String, String> kafka) {
    return kafka.metrics().entrySet().stream()
        .filter(e -> e.getKey().name().equals("record-error-total") && e.getKey().group().equals("producer-metrics"))
        .mapToDouble(e -> ((Number) e.getValue().metricValue()).doubleValue()).sum();
  }

  private static boolean listening() {
    try (java.net.Socket ignored = new java.net.Socket("127.0.0.1",
        Integer.parseInt(broker.bootstrapServers().split(":")[1]))) {
      return true;
    } catch (java.io.IOException e) {
      return false;
    }
  }

  /** A request's events as an interpreter applies them: by token index, in order. */
  static final class Received {
    final StringBuilder text = new StringBuilder();
    final OrderedAssembler assembler = new OrderedAssembler(text::append);
    final Map<String, Integer> next = new HashMap<>();
    final Set<String> ended = new HashSet<>();
    final List<String> gaps = new ArrayList<>();
    RequestFinishedEvent finished;

    void apply(SpanTokensEvent event) {
      String span = event.spanId();
      for (TokenItem item : event.items()) {
        int expected = next.getOrDefault(span, 0);
        if (item.index() < expected) {
          continue;
        }
        if (item.index() > expected) {
          gaps.add(span + ": token " + item.index() + " before " + expected);
          return;
        }
        next.put(span, expected + 1);
        assembler.text(SpanId.of(span), item.text());
        for (String fork : item.forks()) {
          assembler.fork(SpanId.of(span), SpanId.of(fork));
        }
      }
      if (event.ended() && ended.add(span)) {
        assembler.text(SpanId.of(span), event.trailingText());
        assembler.end(SpanId.of(span));
      }
    }
  }

  private Received receive(String id, Duration within) throws Exception {
    Received received = new Received();
    try (KafkaConsumer<String, String> consumer = consumer()) {
      await("the request's finished event arrives").atMost(within).until(() -> {
        for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(200))) {
          if (!r.key().equals(id)) {
            continue;
          }
          SpanEventEnvelope envelope = JSON.readValue(r.value(), SpanEventEnvelope.class);
          envelope.tokensEvents().forEach(received::apply);
          if (envelope.finished() != null && received.finished == null) {
            received.finished = envelope.finished();
          }
        }
        return received.finished != null;
      });
    }
    return received;
  }

  private List<ConsumerRecord<String, String>> readUntil(String lastKey, Duration within) {
    List<ConsumerRecord<String, String>> records = new ArrayList<>();
    try (KafkaConsumer<String, String> consumer = consumer()) {
      await("the last record arrives").atMost(within).until(() -> {
        consumer.poll(Duration.ofMillis(200)).forEach(records::add);
        return records.stream().anyMatch(r -> r.key().equals(lastKey));
      });
    }
    return records;
  }

  private KafkaConsumer<String, String> consumer() {
    Properties p = new Properties();
    p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers());
    p.put(ConsumerConfig.GROUP_ID_CONFIG, "test-" + UUID.randomUUID());
    p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    KafkaConsumer<String, String> consumer = new KafkaConsumer<>(p, new StringDeserializer(),
        new StringDeserializer());
    consumer.subscribe(List.of(topic));
    return consumer;
  }
}
