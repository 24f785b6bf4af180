package io.pastaserve.cli.chaos;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import org.junit.jupiter.api.Test;

/** The per-phase table, the checks and the summary line of {@code pasta chaos}. */
class ChaosReportTest {

  private static ChaosReport.Request request(String phase, Response response, Outcome outcome) {
    return new ChaosReport.Request(phase, 0, "async", true, 1.0, 2.0, response, outcome);
  }

  private static ChaosReport sample() {
    ChaosReport r = new ChaosReport();
    r.addPhase(new ChaosReport.Phase("control", false, "none", -1, -1));
    r.addPhase(new ChaosReport.Phase("kafka", true, "broker stop", 10, 20));
    r.addPhase(new ChaosReport.Phase("disconnect", true, "clients hang up", 30, 31));
    r.add(request("control", Response.completed("stop", "a", "x"), Outcome.IDENTICAL));
    r.add(request("kafka", Response.completed("stop", "a", "y"), Outcome.IDENTICAL));
    r.add(request("kafka", Response.httpError(503, "queue_unavailable: broker away"), Outcome.FAILED_CLEAR));
    r.add(request("kafka", Response.httpError(503, "queue_unavailable: broker away"), Outcome.FAILED_CLEAR));
    r.add(request("disconnect", Response.clientCancelled("a", "z"), Outcome.CANCELLED_BY_CLIENT));
    return r;
  }

  @Test
  void summaryLine_countsFaultsAndRequests_butNotClientHangUps() {
    ChaosReport r = sample();
    assertThat(r.summaryLine()).isEqualTo("faults 2, requests 4, identical 2, failed-clear 2, hung 0, lost 0");
    assertThat(r.passed()).isTrue();
  }

  @Test
  void lost_sumsLostDuplicatedAndBroken_andFailsTheRun() {
    ChaosReport r = sample();
    r.add(request("kafka", Response.completed("stop", "aa", ""), Outcome.DUPLICATED));
    r.add(request("kafka", Response.completed("stop", "", ""), Outcome.LOST));
    r.add(request("kafka", Response.broken(200, "", "reset", ""), Outcome.BROKEN));
    assertThat(r.summaryLine()).isEqualTo("faults 2, requests 7, identical 2, failed-clear 2, hung 0, lost 3");
    assertThat(r.passed()).isFalse();
  }

  @Test
  void aHungRequest_failsTheRun() {
    ChaosReport r = sample();
    r.add(request("kafka", Response.timedOut(200, "", "id"), Outcome.HUNG));
    assertThat(r.summaryLine()).endsWith("hung 1, lost 0");
    assertThat(r.passed()).isFalse();
  }

  @Test
  void aFailedCheck_failsTheRun_andIsListed() {
    ChaosReport r = sample();
    r.addCheck(new ChaosReport.Check("idle after kafka", false, "worker :1 spans 2"));
    assertThat(r.passed()).isFalse();
    assertThat(r.checkLines()).containsExactly("FAIL idle after kafka: worker :1 spans 2");
  }

  @Test
  void table_hasOneRowPerPhase_withTheErrorsClientsSaw() {
    String table = sample().table();
    assertThat(table.lines()).hasSize(4);
    assertThat(table.lines().filter(l -> l.startsWith("kafka")).findFirst().orElseThrow())
        .contains("10.0", "20.0", "503 queue_unavailable x2");
    assertThat(table.lines().filter(l -> l.startsWith("control")).findFirst().orElseThrow()).endsWith("-");
  }

  @Test
  void problems_nameEachHungOrLostRequest() {
    ChaosReport r = sample();
    r.add(request("kafka", Response.completed("stop", "ab", "chatcmpl-9"), Outcome.LOST));
    assertThat(r.problems(Map.of("0/async", "abc"))).singleElement().asString()
        .startsWith("lost: kafka stream prompt 0 async").contains("chatcmpl-9", "2 chars (fault-free 3)");
  }
}
