package io.pastaserve.interpreter.messaging;

import io.pastaserve.interpreter.program.RequestTracker;
import java.util.Collection;
import java.util.List;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.common.TopicPartition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.kafka.listener.ConsumerAwareRebalanceListener;

/**
 * Span events of a request come on one partition of the span-events topic. When partitions move between interpreter
 * instances, the views of their requests are dropped — where they leave, and where they arrive (a view kept from an
 * earlier time there may be out of date); the instance that reads them next rebuilds them from Redis.
 */
public final class SpanEventPartitions implements ConsumerAwareRebalanceListener {

  private static final Logger log = LoggerFactory.getLogger(SpanEventPartitions.class);

  private final RequestTracker tracker;
  private final String topic;

  public SpanEventPartitions(RequestTracker tracker, String spanEventsTopic) {
    this.tracker = tracker;
    this.topic = spanEventsTopic;
  }

  @Override
  public void onPartitionsRevokedAfterCommit(Consumer<?, ?> consumer, Collection<TopicPartition> partitions) {
    forget(partitions);
  }

  @Override
  public void onPartitionsLost(Consumer<?, ?> consumer, Collection<TopicPartition> partitions) {
    forget(partitions);
  }

  @Override
  public void onPartitionsAssigned(Consumer<?, ?> consumer, Collection<TopicPartition> partitions) {
    List<Integer> assigned = forget(partitions);
    if (!assigned.isEmpty()) {
      log.info("span-event partitions assigned: {}", assigned);
    }
  }

  private List<Integer> forget(Collection<TopicPartition> partitions) {
    List<Integer> moved = partitions.stream().filter(p -> p.topic().equals(topic)).map(TopicPartition::partition)
        .toList();
    if (!moved.isEmpty()) {
      tracker.forgetPartitions(moved);
    }
    return moved;
  }
}
