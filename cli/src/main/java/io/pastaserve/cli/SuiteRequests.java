package io.pastaserve.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.pastaserve.common.messaging.GenerateCommand;
import io.pastaserve.common.messaging.RedisKeys;
import io.pastaserve.common.messaging.Topics;
import io.pastaserve.common.output.OutputCodec;
import io.pastaserve.common.output.OutputEntry;
import io.pastaserve.common.request.Mode;
import io.pastaserve.common.request.Sampling;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.common.utils.Utils;
import org.springframework.data.redis.connection.lettuce.LettuceConnectionFactory;
import org.springframework.data.redis.connection.stream.MapRecord;
import org.springframework.data.redis.connection.stream.ReadOffset;
import org.springframework.data.redis.connection.stream.StreamOffset;
import org.springframework.data.redis.connection.stream.StreamReadOptions;
import org.springframework.data.redis.core.StringRedisTemplate;

/**
 * Requests straight onto a running suite's requests topic (as the gateway publishes them), with ids chosen so that
 * their span jobs land on a given partition when asked, and their answers read from their output streams in Redis,
 * entry times included (a stream entry's id is the millisecond Redis added it). Thread-safe.
 */
public final class SuiteRequests implements AutoCloseable {

  private final long timeoutNanos;

  private final ObjectMapper json = new ObjectMapper();
  private final KafkaProducer<String, String> producer;
  private final LettuceConnectionFactory redisFactory;
  private final StringRedisTemplate redis;
  /** Partitions of the span-jobs topic, read when first needed. */
  private volatile int partitions;

  /**
   * An answer: its text, its latency from publishing to its final entry, that entry, how many spans were forked,
   * and (for a request with span events) for each fork the milliseconds from the entry that shows its promise to its
   * own first token, split by whether the worker of its parent decoded it.
   */
  public record Answer(String text, double latencyMs, OutputEntry.Done done, int forks, List<Double> localForkMs,
      List<Double> remoteForkMs) {
  }

  /**
   * @param timeout how long a request may take to answer before {@link #run} and {@link #replay} give up
   */
  public SuiteRequests(String bootstrap, String redisHost, int redisPort, java.time.Duration timeout) {
    this.timeoutNanos = timeout.toNanos();
    Map<String, Object> config = new HashMap<>();
    config.put("bootstrap.servers", bootstrap);
    config.put("key.serializer", StringSerializer.class);
    config.put("value.serializer", StringSerializer.class);
    config.put("linger.ms", 0);
    config.put("max.block.ms", 10_000);
    producer = new KafkaProducer<>(config);
    redisFactory = new LettuceConnectionFactory(redisHost, redisPort);
    redisFactory.afterPropertiesSet();
    redisFactory.start();
    redis = new StringRedisTemplate(redisFactory);
  }

  /** A new request id whose span job lands on {@code partition} of the span-jobs topic (the key's hash). */
  public String idOn(int partition) {
    if (partitions == 0) {
      partitions = producer.partitionsFor(Topics.SPAN_JOBS).size();
    }
    while (true) {
      String id = UUID.randomUUID().toString();
      if (Utils.toPositive(Utils.murmur2(id.getBytes(StandardCharsets.UTF_8))) % partitions == partition) {
        return id;
      }
    }
  }

  /** Replays {@code transcript} in serial mode as request {@code id}, and waits for its end. */
  public void replay(String id, String transcript, int maxTokens) throws Exception {
    publish(new GenerateCommand(GenerateCommand.VERSION, id, "p", new Sampling(0, 1, 0, 0, maxTokens, List.of()),
        Mode.SERIAL, transcript, ""));
    await(id, System.nanoTime());
  }

  /**
   * Runs {@code prompt} in async mode, greedy, as request {@code id}, with span events when asked (the forks' times
   * come from them); waits for its answer.
   */
  public Answer run(String id, String prompt, int maxTokens, boolean spanEvents) throws Exception {
    GenerateCommand command = new GenerateCommand(GenerateCommand.VERSION, id, prompt,
        new Sampling(0, 1, 0, 0, maxTokens, List.of()), Mode.ASYNC, "", "", spanEvents);
    long t0 = System.nanoTime();
    long t0Millis = System.currentTimeMillis();
    publish(command);
    List<MapRecord<String, Object, Object>> records = await(id, t0);
    double latency = (System.nanoTime() - t0) / 1e6;
    StringBuilder text = new StringBuilder();
    Map<String, Long> promised = new HashMap<>();
    Map<String, Long> firstToken = new HashMap<>();
    Map<String, String> workers = new HashMap<>();
    Map<String, String> parents = new HashMap<>();
    OutputEntry.Done done = null;
    for (MapRecord<String, Object, Object> r : records) {
      long at = r.getId().getTimestamp() == null ? t0Millis : r.getId().getTimestamp();
      OutputEntry entry = OutputCodec.decode(fields(r)).orElse(null);
      if (entry instanceof OutputEntry.Text t) {
        text.append(t.text());
      } else if (entry instanceof OutputEntry.Done d) {
        done = d;
      } else if (entry instanceof OutputEntry.SpanProgress s) {
        parents.putIfAbsent(s.span(), s.parent());
        if (!s.worker().isEmpty()) {
          workers.putIfAbsent(s.span(), s.worker());
        }
        if (!s.pieces().isEmpty()) {
          firstToken.putIfAbsent(s.span(), at);
        }
        for (OutputEntry.SpanProgress.Piece p : s.pieces()) {
          for (String fork : p.forks()) {
            promised.putIfAbsent(fork, at);
          }
        }
      }
    }
    List<Double> local = new ArrayList<>();
    List<Double> remote = new ArrayList<>();
    for (Map.Entry<String, Long> p : promised.entrySet()) {
      Long first = firstToken.get(p.getKey());
      if (first == null) {
        continue;
      }
      String worker = workers.getOrDefault(p.getKey(), "");
      String parentWorker = workers.getOrDefault(parents.getOrDefault(p.getKey(), ""), "");
      (worker.equals(parentWorker) ? local : remote).add((double) (first - p.getValue()));
    }
    return new Answer(text.toString(), latency, done, promised.size(), local, remote);
  }

  private void publish(GenerateCommand command) throws Exception {
    producer.send(new ProducerRecord<>(Topics.REQUESTS, command.requestId(), json.writeValueAsString(command)))
        .get();
  }

  /** Every entry of request {@code id}'s output stream, once its final entry is there. */
  private List<MapRecord<String, Object, Object>> await(String id, long t0) {
    List<MapRecord<String, Object, Object>> all = new ArrayList<>();
    StreamOffset<String> offset = StreamOffset.fromStart(RedisKeys.output(id));
    while (System.nanoTime() - t0 < timeoutNanos) {
      List<MapRecord<String, Object, Object>> records = redis.opsForStream()
          .read(StreamReadOptions.empty().block(java.time.Duration.ofMillis(500)), offset);
      if (records == null) {
        continue;
      }
      for (MapRecord<String, Object, Object> r : records) {
        all.add(r);
        offset = StreamOffset.create(RedisKeys.output(id), ReadOffset.from(r.getId()));
        if (OutputCodec.decode(fields(r)).orElse(null) instanceof OutputEntry.Done) {
          return all;
        }
      }
    }
    throw new IllegalStateException("no answer for request " + id + " within "
        + java.time.Duration.ofNanos(timeoutNanos).toSeconds() + " s");
  }

  private static Map<String, String> fields(MapRecord<String, Object, Object> r) {
    Map<String, String> fields = new HashMap<>();
    r.getValue().forEach((k, v) -> fields.put((String) k, (String) v));
    return fields;
  }

  @Override
  public void close() {
    producer.close();
    redisFactory.destroy();
  }
}
