package io.pastaserve.worker.messaging;

import static org.assertj.core.api.Assertions.assertThat;

import io.pastaserve.common.messaging.RedisKeys;
import io.pastaserve.testing.RedisTestClient;
import java.time.Duration;
import java.util.Optional;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.springframework.data.redis.core.StringRedisTemplate;

/** Claims on forks placed on other workers, against a real Redis: one decoder per fork, and a gone one's claim. */
class ForkOwnersTest {

  static final Duration TTL = Duration.ofSeconds(30);
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

  static void alive(String worker) {
    redis.opsForValue().set(RedisKeys.worker(worker), "{}", TTL);
  }

  static String request() {
    return "r-" + UUID.randomUUID();
  }

  @Test
  void aFork_isClaimedOnce_andAReportedForkCanBeClaimedAgain() {
    String id = request();
    ForkOwners a = new ForkOwners(redis, "a");
    ForkOwners b = new ForkOwners(redis, "b");
    assertThat(a.claim(id, "0.1", TTL)).isTrue();
    assertThat(b.claim(id, "0.1", TTL)).as("a second copy of the job").isFalse();
    b.release(id, "0.1");
    assertThat(b.claim(id, "0.1", TTL)).as("b cannot give up a's claim").isFalse();
    a.release(id, "0.1");
    assertThat(b.claim(id, "0.1", TTL)).as("the job placed again once a reported the fork").isTrue();
  }

  @Test
  void theClaimOfAWorkerWhoseHeartbeatIsGone_isSeenAndGivenUp_aLiveOnesIsNot() {
    String id = request();
    String parent = "p-" + UUID.randomUUID();
    String live = "l-" + UUID.randomUUID();
    String dead = "d-" + UUID.randomUUID();
    alive(parent);
    alive(live);
    alive(dead);
    ForkOwners owners = new ForkOwners(redis, parent);
    assertThat(new ForkOwners(redis, live).claim(id, "0.1", TTL)).isTrue();
    assertThat(new ForkOwners(redis, dead).claim(id, "0.2", TTL)).isTrue();
    assertThat(goneOwner(owners, id, "0.1")).isEmpty();
    assertThat(goneOwner(owners, id, "0.2")).as("its heartbeat is still there").isEmpty();
    assertThat(goneOwner(owners, id, "0.3")).as("not claimed yet").isEmpty();

    redis.delete(RedisKeys.worker(dead));
    assertThat(goneOwner(owners, id, "0.1")).isEmpty();
    assertThat(goneOwner(owners, id, "0.2")).contains(dead);
    assertThat(owners.giveUp(id, "0.2", live)).as("only the gone owner's claim is given up").isFalse();
    assertThat(owners.giveUp(id, "0.2", dead)).isTrue();
    assertThat(goneOwner(owners, id, "0.2")).isEmpty();
    assertThat(owners.claim(id, "0.2", TTL)).as("the job sent again is decoded").isTrue();
  }

  /** The fork's claimant when its heartbeat has gone, as ForkJobs' sweep reads it. */
  private static Optional<String> goneOwner(ForkOwners owners, String requestId, String span) {
    return owners.owner(requestId, span).filter(owners::gone);
  }
}
