package io.pastaserve.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PastaCliTest {

  static final String EXAMPLE =
      "Tips:<promise topic=\"sleep\" tokens=\"30\"/><async topic=\"sleep\"> Sleep 8h.</async><sync/> Done.";

  record Result(int status, String out, String err) {
  }

  static Result run(byte[] stdin, String... args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int status = new PastaCli(new ByteArrayInputStream(stdin),
        new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8)).run(args);
    return new Result(status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
  }

  @Test
  void assemble_file(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("t.txt");
    Files.writeString(file, EXAMPLE);
    Result r = run(new byte[0], "lang", "assemble", file.toString());
    assertThat(r.status()).isZero();
    assertThat(r.out()).isEqualTo("Tips: Sleep 8h. Done.");
    assertThat(r.err()).isEmpty();
  }

  @Test
  void assemble_stdin() {
    Result r = run(EXAMPLE.getBytes(StandardCharsets.UTF_8), "lang", "assemble", "-");
    assertThat(r.status()).isZero();
    assertThat(r.out()).isEqualTo("Tips: Sleep 8h. Done.");
  }

  @Test
  void plan_printsTheSpanTreeAndStatistics() throws Exception {
    Result r = run(EXAMPLE.getBytes(StandardCharsets.UTF_8), "lang", "plan", "-");
    assertThat(r.status()).isZero();
    JsonNode plan = new ObjectMapper().readTree(r.out());
    assertThat(plan.at("/stats/forks").asInt()).isEqualTo(1);
    assertThat(plan.at("/stats/spans").asInt()).isEqualTo(2);
    assertThat(plan.at("/stats/totalTokens").asLong()).isGreaterThan(plan.at("/stats/criticalPathTokens").asLong());
    assertThat(plan.at("/stats/idealSpeedup").asDouble()).isGreaterThan(1.0);
    assertThat(plan.at("/wellFormed").asBoolean()).isTrue();
    assertThat(plan.at("/main/forks/0/topic").asText()).isEqualTo("sleep");
    assertThat(plan.at("/main/forks/0/predictedTokens").asInt()).isEqualTo(30);
    assertThat(plan.at("/main/forks/0/text").asText()).isEqualTo(" Sleep 8h.");
    assertThat(plan.at("/assembled").asText()).isEqualTo("Tips: Sleep 8h. Done.");
  }

  @Test
  void plan_reportsDiagnostics() throws Exception {
    Result r = run("a</async>b".getBytes(StandardCharsets.UTF_8), "lang", "plan", "-");
    JsonNode plan = new ObjectMapper().readTree(r.out());
    assertThat(plan.at("/wellFormed").asBoolean()).isFalse();
    assertThat(plan.at("/diagnostics/0/kind").asText()).isEqualTo("STRAY_CLOSE");
  }

  @Test
  void randomBytes_areATranscriptToo() {
    Random random = new Random(7);
    for (int k = 0; k < 50; k++) {
      byte[] bytes = new byte[random.nextInt(2000)];
      random.nextBytes(bytes);
      assertThat(run(bytes, "lang", "assemble", "-").status()).isZero();
      assertThat(run(bytes, "lang", "plan", "-").status()).isZero();
    }
  }

  @Test
  void badArguments_oneLineAndNonZero(@TempDir Path dir) {
    for (String[] args : new String[][] {
        {}, {"nope"}, {"lang"}, {"lang", "explode", "-"}, {"lang", "assemble"},
        {"lang", "assemble", "a", "b"}, {"lang", "plan", "--max-depth"}, {"lang", "plan", "--max-depth", "x", "-"},
        {"lang", "plan", "--max-spans", "0", "-"}, {"lang", "plan", "--frobnicate", "-"}}) {
      Result r = run(new byte[0], args);
      assertThat(r.status()).as(String.join(" ", args)).isEqualTo(2);
      assertThat(r.err().strip()).as(String.join(" ", args)).startsWith("pasta: ").doesNotContain("\n");
    }
    Result missing = run(new byte[0], "lang", "assemble", dir.resolve("missing.txt").toString());
    assertThat(missing.status()).isEqualTo(1);
    assertThat(missing.err()).startsWith("pasta: cannot read").contains("no such file");
    Result directory = run(new byte[0], "lang", "assemble", dir.toString());
    assertThat(directory.status()).isEqualTo(1);
    assertThat(directory.err().strip()).startsWith("pasta: cannot read").doesNotContain("\n");
  }

  @Test
  void help_succeeds() {
    Result r = run(new byte[0], "--help");
    assertThat(r.status()).isZero();
    assertThat(r.out()).contains("lang assemble");
  }
}
