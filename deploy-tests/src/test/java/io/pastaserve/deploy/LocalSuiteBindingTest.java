package io.pastaserve.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code bin/pasta up} and {@code bin/pasta worker} keep the suite on this machine: every service they start
 * listens on 127.0.0.1 only (its API, and the gateway's management port), and the broker and Redis they would start
 * are bound to loopback. The real script runs from a copy of the repository's layout, with {@code java},
 * {@code mvn}, {@code curl} and the Redis tools replaced by stubs that record how they were called; the broker and
 * Redis are stood in for by sockets on free ports, so nothing here uses the suite's fixed ports.
 */
class LocalSuiteBindingTest {

  @TempDir
  Path home;

  @Test
  void up_startsEveryServiceOnLoopback_andTheGatewaysManagementPortToo() throws Exception {
    List<String> services = run("up");

    assertThat(services).hasSize(3).allSatisfy(call -> assertThat(call).contains("--server.address=127.0.0.1"));
    String gateway = services.stream().filter(c -> c.contains("gateway-service")).findFirst().orElseThrow();
    assertThat(gateway).contains("--management.server.port=").contains("--management.server.address=127.0.0.1");
  }

  @Test
  void worker_startsOnLoopback() throws Exception {
    List<String> services = run("worker", "18093");

    assertThat(services).singleElement().satisfies(call -> assertThat(call).contains("decoder-worker")
        .contains("--server.port=18093").contains("--server.address=127.0.0.1"));
  }

  @Test
  void theBrokerAndRedisThatUpStarts_listenOnLoopbackOnly() throws IOException {
    String script = Files.readString(Repository.root().resolve("bin/pasta"), StandardCharsets.UTF_8);

    assertThat(script).contains("listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:")
        .containsPattern("redis-server --port \"\\$REDIS_PORT\" --bind 127\\.0\\.0\\.1 ");
  }

  /** Runs {@code bin/pasta ARGS} against stubs; the command lines of the JVMs it started, one per service. */
  private List<String> run(String... args) throws Exception {
    Path root = home.resolve("repo");
    Files.createDirectories(root.resolve("bin"));
    Files.copy(Repository.root().resolve("bin/pasta"), root.resolve("bin/pasta"));
    Files.copy(Repository.root().resolve("pom.xml"), root.resolve("pom.xml"));
    Files.createDirectories(root.resolve("models/pasta-tiny"));
    Files.writeString(root.resolve("models/pasta-tiny/model.onnx"), "");
    Path stubs = Files.createDirectories(home.resolve("stubs"));
    Path calls = home.resolve("java-calls.txt");
    stub(stubs, "java", "echo \"$*\" >> '" + calls + "'");
    // bin/pasta puts $JAVA_HOME/bin first on the PATH: a JDK of stubs
    Path jdk = home.resolve("jdk");
    stub(Files.createDirectories(jdk.resolve("bin")), "java", "echo \"$*\" >> '" + calls + "'");
    stub(stubs, "mvn", "exit 0");
    stub(stubs, "curl", "echo '{\"status\":\"UP\"}'");
    stub(stubs, "redis-cli", "echo PONG");
    stub(stubs, "redis-server", "exit 0");
    try (ServerSocket kafka = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        ServerSocket redis = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
      ProcessBuilder builder = new ProcessBuilder(
          concat(List.of("bash", root.resolve("bin/pasta").toString()), List.of(args)))
          .redirectErrorStream(true).redirectOutput(home.resolve("pasta.log").toFile());
      Map<String, String> env = builder.environment();
      env.put("PATH", stubs + ":/usr/bin:/bin");
      env.put("JAVA_HOME", jdk.toString());
      env.put("PASTA_KAFKA_PORT", Integer.toString(kafka.getLocalPort()));
      env.put("PASTA_REDIS_PORT", Integer.toString(redis.getLocalPort()));
      env.put("PASTA_API_KEYS", "binding-test-key");
      env.put("PASTA_GATEWAY_MANAGEMENT_PORT", "19080");
      Process process = builder.start();
      assertThat(process.waitFor(60, TimeUnit.SECONDS)).as("bin/pasta %s ended", String.join(" ", args)).isTrue();
      // the stubs end at once, so the script's own ending (stopping what it started) is not what is checked here
      assertThat(Files.readString(home.resolve("pasta.log"))).contains("decoder-worker up on");
    }
    return Files.readAllLines(calls).stream().filter(l -> l.contains("-exec.jar")).toList();
  }

  private static void stub(Path dir, String name, String body) throws IOException {
    Path file = dir.resolve(name);
    Files.writeString(file, "#!/bin/sh\n" + body + "\n");
    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rwxr-xr-x"));
  }

  private static List<String> concat(List<String> a, List<String> b) {
    return java.util.stream.Stream.concat(a.stream(), b.stream()).toList();
  }
}
