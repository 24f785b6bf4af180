package io.pastaserve.interpreter.program;

import static io.pastaserve.interpreter.program.RequestTrackerRecoveryTest.WORDS;
import static io.pastaserve.interpreter.program.RequestTrackerRecoveryTest.main;
import static io.pastaserve.interpreter.program.RequestTrackerRecoveryTest.started;
import static io.pastaserve.interpreter.program.RequestTrackerRecoveryTest.text;
import static io.pastaserve.interpreter.program.RequestTrackerRecoveryTest.tracker;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The gap check's recovery sends to Kafka (a job sent again, a cancellation), which may wait while the broker is
 * away: it runs after the request's lock is released, so the request's events are applied meanwhile.
 */
class GapRecoverySendsTest {

  @BeforeAll
  static void start() throws Exception {
    RequestTrackerRecoveryTest.start();
  }

  @AfterAll
  static void stop() {
    RequestTrackerRecoveryTest.stop();
  }

  /** A recovery whose sends wait until released, as a send does while the broker is away. */
  static final class WaitingRecovery implements RequestTracker.Recovery {
    final CountDownLatch entered = new CountDownLatch(1);
    final CountDownLatch released = new CountDownLatch(1);

    @Override
    public void redispatch(String requestId) {
      waitHere();
    }

    @Override
    public void cancel(String requestId) {
      waitHere();
    }

    private void waitHere() {
      entered.countDown();
      try {
        released.await();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  @Test
  void aRedispatchWaitingForTheBroker_doesNotHoldUpTheRequestsEvents() {
    RequestTracker t = tracker();
    String id = started(t);
    t.apply(main(id, false, WORDS[0]));
    t.apply(main(id, true, WORDS[2], WORDS[3]));
    WaitingRecovery recovery = new WaitingRecovery();
    // threads of the test's own: the common pool may have a single thread, which the waiting check would hold
    ExecutorService threads = Executors.newCachedThreadPool();
    CompletableFuture<Integer> check = CompletableFuture.supplyAsync(() -> t.checkGaps(Duration.ZERO, recovery),
        threads);
    try {
      await().until(() -> recovery.entered.getCount() == 0);
      // the missing token comes while the job is being sent again
      CompletableFuture<Boolean> apply = CompletableFuture.supplyAsync(() -> t.apply(main(id, false, WORDS[1])),
          threads);
      await().until(apply::isDone);
      assertThat(text(id)).isEqualTo("One two three four.");
    } finally {
      recovery.released.countDown();
    }
    assertThat(check.join()).isEqualTo(1);
    threads.shutdown();
  }
}
