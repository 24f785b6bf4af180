package io.pastaserve.interpreter.program;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.pastaserve.common.messaging.RedisKeys;
import io.pastaserve.testing.RedisTestClient;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.data.redis.core.StringRedisTemplate;

/** The watchdog against a real Redis: which running requests it hands out again, and when. */
class LeaseWatchdogTest {

  static RedisTestClient client;
  static StringRedisTemplate redis;

  /** Jobs sent again: request id, job. */
  final List<List<String>> sent = new CopyOnWriteArrayList<>();

  @BeforeAll
  static void start() throws Exception {
    client = RedisTestClient.start();
    redis = client.template();
  }

  @AfterAll
  static void stop() {
    client.close();
  }

  @BeforeEach
  void empty() {
    redis.getConnectionFactory().getConnection().serverCommands().flushAll();
  }

  /** A watchdog that never checks by itself (the test calls {@code check()}). */
  LeaseWatchdog watchdog(Duration grace) {
    return new LeaseWatchdog(redis, grace, Duration.ofHours(1), Duration.ofHours(1),
        (id, job) -> sent.add(List.of(id, job)));
  }

  static String running(String owner) {
    String id = "r-" + UUID.randomUUID();
    redis.opsForHash().putAll(RedisKeys.request(id), Map.of("status", "running", "worker", owner,
        "job", "{\"job\":\"" + id + "\"}"));
    redis.opsForZSet().add(RedisKeys.RUNNING, id, System.currentTimeMillis());
    return id;
  }

  @Test
  void aRequestOfAGoneWorker_isSentAgainOnce_afterTheGrace() throws Exception {
    String id = running("gone");
    try (LeaseWatchdog a = watchdog(Duration.ofMillis(300)); LeaseWatchdog b = watchdog(Duration.ofMillis(300))) {
      assertThat(a.check()).as("within the grace").isZero();
      assertThat(b.check()).isZero();
      Thread.sleep(400);
      // two interpreters see the same gone worker: one of them sends the job
      assertThat(a.check() + b.check()).isEqualTo(1);
      assertThat(sent).containsExactly(List.of(id, "{\"job\":\"" + id + "\"}"));
      assertThat(redis.opsForHash().get(RedisKeys.request(id), "worker")).isEqualTo("");
      assertThat(a.check()).as("released: it waits for a worker to take it").isZero();
    }
  }

  @Test
  void aHeartbeatBackWithinTheGrace_keepsTheRequestWhereItIs() throws Exception {
    String id = running("slow");
    try (LeaseWatchdog w = watchdog(Duration.ofMillis(300))) {
      assertThat(w.check()).isZero();
      redis.opsForValue().set(RedisKeys.worker("slow"), "{}", Duration.ofSeconds(30));
      Thread.sleep(400);
      assertThat(w.check()).isZero();
      redis.delete(RedisKeys.worker("slow"));
      assertThat(w.check()).as("missing again: a new grace starts").isZero();
      assertThat(sent).isEmpty();
      assertThat(redis.opsForHash().get(RedisKeys.request(id), "worker")).isEqualTo("slow");
    }
  }

  @Test
  void liveOwnersUnownedAndEndedRequests_areLeftAlone() throws Exception {
    redis.opsForValue().set(RedisKeys.worker("live"), "{}", Duration.ofSeconds(30));
    String owned = running("live");
    String waiting = running("");
    String ended = running("gone");
    redis.opsForHash().put(RedisKeys.request(ended), "status", "finished");
    try (LeaseWatchdog w = watchdog(Duration.ZERO)) {
      assertThat(w.check()).isZero();
      assertThat(sent).isEmpty();
      assertThat(redis.opsForZSet().range(RedisKeys.RUNNING, 0, -1)).as("an ended request leaves the set")
          .containsExactlyInAnyOrder(owned, waiting);
      assertThat(w.running()).as("running requests, waiting or held").isEqualTo(2);
    }
  }

  @Test
  void aJobNoWorkerClaimed_isSentAgainOnce_afterTheClaimTimeout() {
    String waiting = running("");
    String fresh = running("");
    long longAgo = System.currentTimeMillis() - 60_000;
    redis.opsForHash().put(RedisKeys.request(waiting), "dispatched", Long.toString(longAgo));
    redis.opsForHash().put(RedisKeys.request(fresh), "dispatched", Long.toString(System.currentTimeMillis()));
    try (LeaseWatchdog a = new LeaseWatchdog(redis, Duration.ofHours(1), Duration.ofSeconds(30), Duration.ofHours(1),
        (id, job) -> sent.add(List.of(id, job)));
        LeaseWatchdog b = new LeaseWatchdog(redis, Duration.ofHours(1), Duration.ofSeconds(30), Duration.ofHours(1),
        (id, job) -> sent.add(List.of(id, job)))) {
      // two interpreters find it unclaimed: one of them sends it; the bound then starts again
      assertThat(a.check() + b.check()).isEqualTo(1);
      assertThat(sent).containsExactly(List.of(waiting, "{\"job\":\"" + waiting + "\"}"));
      assertThat(Long.parseLong((String) redis.opsForHash().get(RedisKeys.request(waiting), "dispatched")))
          .isGreaterThan(longAgo);
      assertThat(a.check()).isZero();
    }
  }

  @Test
  void redispatch_takesTheRequestFromItsLiveWorker_andSendsItsJobOnlyAfterTheGrace() {
    redis.opsForValue().set(RedisKeys.worker("live"), "{}", Duration.ofSeconds(30));
    String id = running("live");
    try (LeaseWatchdog w = watchdog(Duration.ofMillis(300))) {
      assertThat(w.redispatch(id)).isTrue();
      // the worker that runs it sees another owner and stops it; a copy of the job that reached it now would be
      // dropped as one of a request running there, and nothing would fill the gap
      assertThat(redis.opsForHash().get(RedisKeys.request(id), "worker")).isNotIn("live", "");
      assertThat(sent).isEmpty();
      assertThat(w.check()).as("within the grace").isZero();
      await().until(() -> w.check() == 1);
      assertThat(sent).containsExactly(List.of(id, "{\"job\":\"" + id + "\"}"));
      assertThat(redis.opsForHash().get(RedisKeys.request(id), "worker")).isEqualTo("");
    }
  }
}
