package io.pastaserve.worker.messaging;

import static org.assertj.core.api.Assertions.assertThat;

import io.pastaserve.common.messaging.RedisKeys;
import io.pastaserve.testing.RedisTestClient;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.springframework.data.redis.core.StringRedisTemplate;

/** Claims on requests against a real Redis: who runs a request, and how a gone worker's requests are taken. */
class RequestLeasesTest {

  static RedisTestClient client;
  static StringRedisTemplate redis;

  @BeforeAll
  static void start() throws Exception {
    client = RedisTestClient.start();
    redis = client.template();
  }

  @AfterAll
  static void stop() {
    client.close();
  }

  static String running(String owner) {
    String id = "r-" + UUID.randomUUID();
    redis.opsForHash().putAll(RedisKeys.request(id), Map.of("status", "running", "worker", owner));
    return id;
  }

  static void alive(String worker) {
    redis.opsForValue().set(RedisKeys.worker(worker), "{}", Duration.ofSeconds(30));
  }

  @Test
  void anUnownedRequest_isTaken_andThenOwnedElsewhere() {
    String id = running("");
    alive("a");
    RequestLeases a = new RequestLeases(redis, "a");
    RequestLeases b = new RequestLeases(redis, "b");
    assertThat(a.claim(id)).isEqualTo(RequestLeases.Claim.TAKEN);
    assertThat(a.owner(id).worker()).isEqualTo("a");
    assertThat(a.claim(id)).as("a copy of the job on the same worker").isEqualTo(RequestLeases.Claim.TAKEN);
    assertThat(b.claim(id)).isEqualTo(RequestLeases.Claim.OWNED_ELSEWHERE);
    assertThat(b.owner(id).worker()).isEqualTo("a");
  }

  @Test
  void aGoneWorkersRequest_isTakenOver() {
    String id = running("dead");
    RequestLeases b = new RequestLeases(redis, "b");
    assertThat(b.claim(id)).isEqualTo(RequestLeases.Claim.TAKEN);
    assertThat(b.owner(id).worker()).isEqualTo("b");
  }

  @Test
  void anEndedOrUnknownRequest_isNotRun_andAnUnknownOneIsRecreatedNowhere() {
    String ended = running("");
    redis.opsForHash().put(RedisKeys.request(ended), "status", "finished");
    RequestLeases a = new RequestLeases(redis, "a");
    assertThat(a.claim(ended)).isEqualTo(RequestLeases.Claim.ENDED);
    assertThat(a.claim("never-recorded")).isEqualTo(RequestLeases.Claim.LOST);
    assertThat(redis.hasKey(RedisKeys.request("never-recorded"))).isFalse();
  }

  @Test
  void releasing_clearsOnlyOwnClaims() {
    String id = running("");
    alive("a");
    RequestLeases a = new RequestLeases(redis, "a");
    RequestLeases b = new RequestLeases(redis, "b");
    a.claim(id);
    assertThat(b.release(id)).isFalse();
    assertThat(a.owner(id).worker()).isEqualTo("a");
    assertThat(a.release(id)).isTrue();
    assertThat(a.owner(id).worker()).isEmpty();
    assertThat(b.claim(id)).isEqualTo(RequestLeases.Claim.TAKEN);
  }

  /** Many workers get a copy of the same job at once: exactly one runs it. */
  @Test
  void concurrentClaims_haveOneWinner() throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(8);
    try {
      for (int round = 0; round < 50; round++) {
        String id = running(round % 2 == 0 ? "" : "dead-" + round);
        CountDownLatch go = new CountDownLatch(1);
        List<Future<RequestLeases.Claim>> claims = new ArrayList<>();
        for (int w = 0; w < 8; w++) {
          String worker = "w" + w;
          alive(worker);
          RequestLeases leases = new RequestLeases(redis, worker);
          claims.add(pool.submit(() -> {
            go.await();
            return leases.claim(id);
          }));
        }
        go.countDown();
        int taken = 0;
        for (Future<RequestLeases.Claim> c : claims) {
          taken += c.get() == RequestLeases.Claim.TAKEN ? 1 : 0;
        }
        assertThat(taken).as("round %d", round).isEqualTo(1);
      }
    } finally {
      pool.shutdownNow();
    }
  }
}
