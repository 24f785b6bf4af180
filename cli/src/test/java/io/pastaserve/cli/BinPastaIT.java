package io.pastaserve.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The real {@code bin/pasta} script, run as a process from the repository root. */
class BinPastaIT {

  static final Path ROOT = Path.of("..").toAbsolutePath().normalize();

  record Result(int status, String out, String err) {
  }

  static Result pasta(byte[] stdin, String... args) throws IOException, InterruptedException {
    List<String> command = new ArrayList<>(List.of(ROOT.resolve("bin/pasta").toString()));
    command.addAll(List.of(args));
    Process process = new ProcessBuilder(command).directory(ROOT.toFile()).start();
    try (var in = process.getOutputStream()) {
      in.write(stdin);
    }
    byte[] out = process.getInputStream().readAllBytes();
    byte[] err = process.getErrorStream().readAllBytes();
    assertThat(process.waitFor(60, TimeUnit.SECONDS)).isTrue();
    return new Result(process.exitValue(), new String(out, StandardCharsets.UTF_8),
        new String(err, StandardCharsets.UTF_8));
  }

  @Test
  void assembleAndPlan_fromAFileAndFromStdin(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("answer.txt");
    Files.writeString(file, PastaCliTest.EXAMPLE);
    Result assembled = pasta(new byte[0], "lang", "assemble", file.toString());
    assertThat(assembled).isEqualTo(new Result(0, "Tips: Sleep 8h. Done.", ""));
    Result plan = pasta(PastaCliTest.EXAMPLE.getBytes(StandardCharsets.UTF_8), "lang", "plan", "-");
    assertThat(plan.status()).isZero();
    assertThat(plan.out()).contains("\"forks\" : 1", "\"idealSpeedup\"");
  }

  @Test
  void randomBytes_exitZero() throws Exception {
    Random random = new Random(11);
    for (int k = 0; k < 5; k++) {
      byte[] bytes = new byte[1 + random.nextInt(100_000)];
      random.nextBytes(bytes);
      assertThat(pasta(bytes, "lang", "assemble", "-").status()).isZero();
      Result plan = pasta(bytes, "lang", "plan", "-");
      assertThat(plan.status()).isZero();
      assertThat(plan.out()).startsWith("{");
    }
  }

  @Test
  void errors_areOneLine_withNonZeroExit() throws Exception {
    Result missing = pasta(new byte[0], "lang", "assemble", "/nonexistent/answer.txt");
    assertThat(missing.status()).isEqualTo(1);
    assertThat(missing.err()).isEqualTo("pasta: cannot read /nonexistent/answer.txt: no such file\n");
    Result usage = pasta(new byte[0], "lang", "frobnicate");
    assertThat(usage.status()).isEqualTo(2);
    assertThat(usage.err().lines()).hasSize(1);
  }
}
