package io.pastaserve.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The GPU bundle ({@code tools/gpu/build-bundle.sh}) carries the engine and the command line without Spring: {@code
 * generate} and {@code bench} must run on a class path that has no Spring Data Redis. Each runs here in a JVM of its
 * own, on this test's class path without it.
 */
class BundleClassPathTest {

  @Test
  void benchAndGenerate_runWithoutSpringDataRedis(@TempDir Path dir) throws Exception {
    Path prompts = dir.resolve("prompts.txt");
    Files.writeString(prompts, "hello\n");
    Run bench = run(dir, "bench", "--model", EngineCommandsTest.MODEL, "--prompts", prompts.toString(), "--repeat",
        "1", "--warmup", "0", "--max-tokens", "8");
    assertThat(bench.status()).as(bench.output()).isZero();
    assertThat(bench.output()).contains("geomean speedup").doesNotContain("NoClassDefFoundError");
    Run generate = run(dir, "generate", "--model", EngineCommandsTest.MODEL, "--prompt", "hello", "--max-tokens",
        "8");
    assertThat(generate.status()).as(generate.output()).isZero();
  }

  record Run(int status, String output) {
  }

  private static Run run(Path dir, String... args) throws Exception {
    String classPath = Arrays.stream(System.getProperty("java.class.path").split(File.pathSeparator))
        .filter(entry -> !entry.contains("spring-data-redis"))
        .collect(Collectors.joining(File.pathSeparator));
    assertThat(classPath).contains("decoder-worker").doesNotContain("spring-data-redis");
    List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "--enable-native-access=ALL-UNNAMED", "-cp", classPath, PastaCli.class.getName()));
    command.addAll(List.of(args));
    Path log = dir.resolve("run.log");
    Process process = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    if (!process.waitFor(120, TimeUnit.SECONDS)) {
      process.destroyForcibly();
      throw new AssertionError("pasta " + String.join(" ", args) + " did not end within 120 s");
    }
    return new Run(process.exitValue(), Files.readString(log, StandardCharsets.UTF_8));
  }
}
