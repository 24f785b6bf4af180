package io.pastaserve.cli.chaos;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** How the chaos harness classifies what a client saw against the fault-free answer. */
class OutcomeClassifierTest {

  private static final String REF = "Sleep well. Keep a schedule.";

  @Test
  void completedWithTheFaultFreeText_isIdentical() {
    assertThat(OutcomeClassifier.classify(Response.completed("stop", REF, "chatcmpl-1"), REF))
        .isEqualTo(Outcome.IDENTICAL);
    assertThat(OutcomeClassifier.classify(Response.completed("length", REF, ""), REF)).isEqualTo(Outcome.IDENTICAL);
  }

  @Test
  void completedWithTextMissing_isLost() {
    assertThat(OutcomeClassifier.classify(Response.completed("stop", "Sleep well.", ""), REF))
        .isEqualTo(Outcome.LOST);
    assertThat(OutcomeClassifier.classify(Response.completed("stop", "", ""), REF)).isEqualTo(Outcome.LOST);
  }

  @Test
  void completedWithOtherTextOfTheSameLength_isLost() {
    assertThat(OutcomeClassifier.classify(Response.completed("stop", REF.replace('w', 'W'), ""), REF))
        .isEqualTo(Outcome.LOST);
  }

  @Test
  void completedWithAPartRepeated_isDuplicated() {
    String repeated = "Sleep well. Sleep well. Keep a schedule.";
    assertThat(OutcomeClassifier.classify(Response.completed("stop", repeated, ""), REF))
        .isEqualTo(Outcome.DUPLICATED);
    assertThat(OutcomeClassifier.classify(Response.completed("stop", REF + REF, ""), REF))
        .isEqualTo(Outcome.DUPLICATED);
    assertThat(Outcome.DUPLICATED.isLost()).isTrue();
  }

  @Test
  void longerTextWithoutTheReferenceInOrder_isLostNotDuplicated() {
    assertThat(OutcomeClassifier.isDuplicated(REF, "Keep a schedule. Sleep well. And more")).isFalse();
    assertThat(OutcomeClassifier.isDuplicated(REF, REF)).isFalse();
  }

  @Test
  void errorsWithTheEnvelopeOrAnErrorEvent_areClearFailures() {
    assertThat(OutcomeClassifier.classify(Response.httpError(503, "queue_unavailable: broker away"), REF))
        .isEqualTo(Outcome.FAILED_CLEAR);
    assertThat(OutcomeClassifier.classify(Response.streamError("Sleep", "generation_failed: boom", "id"), REF))
        .isEqualTo(Outcome.FAILED_CLEAR);
  }

  /**
   * The server answers only OpenAI's finish reasons; a failure is an error status or an error event. An answer that
   * says anything else ({@code error}, {@code cancelled}, ...) is one OpenAI clients take for a normal answer: the
   * failure went unsaid, so the client lost its answer.
   */
  @Test
  void aFinishReasonOtherThanStopOrLength_isBroken() {
    for (String reason : new String[] {"error", "cancelled", "content_filter", ""}) {
      Outcome o = OutcomeClassifier.classify(Response.completed(reason, "Sleep", ""), REF);
      assertThat(o).as(reason).isEqualTo(Outcome.BROKEN);
      assertThat(o.isLost()).isTrue();
    }
  }

  @Test
  void noEndByTheDeadline_isHung_andABrokenConnection_countsAsLost() {
    assertThat(OutcomeClassifier.classify(Response.timedOut(200, "Sleep", "id"), REF)).isEqualTo(Outcome.HUNG);
    Outcome broken = OutcomeClassifier.classify(Response.broken(200, "Sleep", "stream ended before [DONE]", ""),
        REF);
    assertThat(broken).isEqualTo(Outcome.BROKEN);
    assertThat(broken.isLost()).isTrue();
    assertThat(Outcome.HUNG.isLost()).isFalse();
  }

  @Test
  void aClientThatHungUp_isCountedApart() {
    Outcome o = OutcomeClassifier.classify(Response.clientCancelled("Sleep", "id"), REF);
    assertThat(o).isEqualTo(Outcome.CANCELLED_BY_CLIENT);
    assertThat(o.isLost()).isFalse();
  }

  @Test
  void aCompletedAnswerWithoutAReference_isAnError() {
    assertThatThrownBy(() -> OutcomeClassifier.classify(Response.completed("stop", REF, ""), null))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
