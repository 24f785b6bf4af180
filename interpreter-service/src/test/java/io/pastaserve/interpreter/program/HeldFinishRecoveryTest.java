package io.pastaserve.interpreter.program;

import static io.pastaserve.interpreter.program.RequestTrackerRecoveryTest.WORDS;
import static io.pastaserve.interpreter.program.RequestTrackerRecoveryTest.dones;
import static io.pastaserve.interpreter.program.RequestTrackerRecoveryTest.finished;
import static io.pastaserve.interpreter.program.RequestTrackerRecoveryTest.main;
import static io.pastaserve.interpreter.program.RequestTrackerRecoveryTest.started;
import static io.pastaserve.interpreter.program.RequestTrackerRecoveryTest.text;
import static io.pastaserve.interpreter.program.RequestTrackerRecoveryTest.tracker;
import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A gap, and a worker's finish held behind it, outlive the view that held them: the view dropped when its partition
 * moved, or rebuilt because another instance recorded the request meanwhile. The worker has finished and sends nothing more,
 * so nothing but the gap check can end such a request: it is sent to the workers again once, and ends {@code stop}
 * when the missing tokens come, or with an error when they never do.
 */
class HeldFinishRecoveryTest {

  final List<String> recoveries = new CopyOnWriteArrayList<>();
  final RequestTracker.Recovery recovery = new RequestTracker.Recovery() {
    @Override
    public void redispatch(String requestId) {
      recoveries.add("redispatch " + requestId);
    }

    @Override
    public void cancel(String requestId) {
      recoveries.add("cancel " + requestId);
    }
  };

  @BeforeAll
  static void start() throws Exception {
    RequestTrackerRecoveryTest.start();
  }

  @AfterAll
  static void stop() {
    RequestTrackerRecoveryTest.stop();
  }

  @Test
  void aHeldFinishWhosePartitionMoved_isSentAgain_andEndsStopWhenTheTokensCome() {
    RequestTracker t = tracker();
    String id = started(t);
    t.apply(main(id, false, WORDS[0]), 1);
    // token 1 was lost; the rest, the span's end and the worker's finish came on the request's partition
    t.apply(main(id, true, WORDS[2], WORDS[3]), 1);
    t.finish(finished(id, "stop", 4), 1);
    t.forgetPartitions(List.of(1));
    assertThat(t.views()).isZero();
    t.checkGaps(Duration.ZERO, recovery);
    assertThat(recoveries).containsExactly("redispatch " + id);
    // a worker resumes it from the recorded tokens: everything after them comes again, on the partition's new reader
    RequestTracker other = tracker();
    other.apply(main(id, false, WORDS[1], WORDS[2]), 1);
    other.apply(main(id, true, WORDS[3]), 1);
    other.finish(finished(id, "stop", 4), 1);
    assertThat(text(id)).isEqualTo("One two three four.");
    assertThat(dones(id)).singleElement().satisfies(d -> assertThat(d).containsEntry("finishReason", "stop"));
    assertThat(t.checkGaps(Duration.ZERO, recovery) + other.checkGaps(Duration.ZERO, recovery)).isZero();
  }

  @Test
  void aHeldFinishWhoseViewWasDropped_neverFilled_endsWithAnErrorOnAnyInstance() {
    RequestTracker t = tracker();
    String id = started(t);
    t.apply(main(id, false, WORDS[0], WORDS[1]), 2);
    // the last event (tokens 2, 3 and the end) was lost; the finish counts 4 tokens
    t.finish(finished(id, "stop", 4), 2);
    t.forgetPartitions(List.of(2));
    RequestTracker other = tracker();
    other.checkGaps(Duration.ZERO, recovery);
    assertThat(recoveries).containsExactly("redispatch " + id);
    other.checkGaps(Duration.ZERO, recovery);
    assertThat(recoveries).containsExactly("redispatch " + id, "cancel " + id);
    assertThat(dones(id)).singleElement().satisfies(d -> assertThat(d).containsEntry("finishReason", "error")
        .extractingByKey("error").asString().contains("span 0 from token 2"));
    assertThat(t.checkGaps(Duration.ZERO, recovery)).as("ended once").isZero();
  }

  @Test
  void tokensHeldBehindAGapWhosePartitionMoved_areSentAgain_evenIfNothingMoreComes() {
    RequestTracker t = tracker();
    String id = started(t);
    t.apply(main(id, false, WORDS[0]), 4);
    t.apply(main(id, false, WORDS[2]), 4);
    t.forgetPartitions(List.of(4));
    RequestTracker other = tracker();
    other.checkGaps(Duration.ZERO, recovery);
    assertThat(recoveries).containsExactly("redispatch " + id);
    // the worker that takes the job again resumes after token 0
    other.apply(main(id, false, WORDS[1], WORDS[2]), 4);
    other.apply(main(id, true, WORDS[3]), 4);
    other.finish(finished(id, "stop", 4), 4);
    assertThat(text(id)).isEqualTo("One two three four.");
    assertThat(dones(id)).singleElement().satisfies(d -> assertThat(d).containsEntry("finishReason", "stop"));
    assertThat(t.checkGaps(Duration.ZERO, recovery) + other.checkGaps(Duration.ZERO, recovery)).isZero();
  }

  @Test
  void aHeldFinishSurvivesARebuild_whenAnotherInstanceRecordedTheRequestMeanwhile() {
    RequestTracker a = tracker();
    RequestTracker b = tracker();
    String id = started(a);
    a.apply(main(id, false, WORDS[0]), 3);
    a.apply(main(id, true, WORDS[2], WORDS[3]), 3);
    a.finish(finished(id, "stop", 4), 3);
    // for a moment another instance reads the partition too and records token 1, which came late
    b.apply(main(id, false, WORDS[0], WORDS[1]), 3);
    // the same event reaches this instance: its view is behind Redis and is rebuilt
    a.apply(main(id, false, WORDS[1]), 3);
    assertThat(dones(id)).isEmpty();
    a.checkGaps(Duration.ZERO, recovery);
    assertThat(recoveries).as("the gap is still watched").containsExactly("redispatch " + id);
    a.apply(main(id, true, WORDS[2], WORDS[3]), 3);
    a.finish(finished(id, "stop", 4), 3);
    assertThat(text(id)).isEqualTo("One two three four.");
    assertThat(dones(id)).singleElement().satisfies(d -> assertThat(d).containsEntry("finishReason", "stop"));
  }
}
