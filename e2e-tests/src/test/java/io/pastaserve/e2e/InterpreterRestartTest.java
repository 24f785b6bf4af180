package io.pastaserve.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.pastaserve.common.lang.PastaLimits;
import io.pastaserve.common.lang.Program;
import io.pastaserve.common.messaging.GenerateCommand;
import io.pastaserve.common.request.Sampling;
import io.pastaserve.testing.ServiceProcess;
import io.pastaserve.worker.DecoderWorkerApplication;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * The interpreter service as a real process, killed with SIGKILL while requests decode and started again: the
 * new instance rebuilds each request from Redis and the answers come out whole, nothing repeated.
 */
class InterpreterRestartTest {

  @Test
  void killedInterpreter_isReplaced_andRequestsResumeFromRedis() throws Exception {
    List<String> transcripts = Files.readAllLines(Suite.MODEL.resolve("heldout-transcripts.txt"),
        StandardCharsets.UTF_8).stream().limit(6).map(l -> l.replace("\\n", "\n")).toList();
    Path jar = Suite.ROOT.resolve("interpreter-service/target").resolve(
        "interpreter-service-" + System.getProperty("project.version", "0.1.0-SNAPSHOT") + "-exec.jar");
    try (Suite suite = new Suite()) {
      ConfigurableApplicationContext worker = new SpringApplicationBuilder(DecoderWorkerApplication.class)
          .properties(suite.shared())
          .properties("pasta.worker.model-dir=" + Suite.MODEL, "pasta.worker.device=cpu").run();
      try {
        List<String> argList = new ArrayList<>(List.of(suite.sharedArgs()));
        // the dead instance's partitions move after 6 s instead of the default 45 s
        argList.addAll(List.of("--spring.kafka.consumer.properties.session.timeout.ms=6000",
            "--spring.kafka.consumer.properties.heartbeat.interval.ms=1000"));
        String[] args = argList.toArray(String[]::new);
        List<GenerateCommand> commands = new ArrayList<>();
        try (ServiceProcess first = ServiceProcess.start(jar, Duration.ofSeconds(90), args)) {
          for (String t : transcripts) {
            GenerateCommand c = Suite.command("p", new Sampling(0, 1, 0, 0, 4096, List.of()), "serial", t);
            commands.add(c);
            suite.publish(c);
          }
          await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(20))
              .until(() -> !suite.textOf(commands.get(0).requestId()).isEmpty());
          first.kill();
        }
        long unfinished = commands.stream().filter(c -> suite.doneCount(c.requestId()) == 0).count();
        assertThat(unfinished).as("requests still running when the interpreter died").isPositive();
        try (ServiceProcess second = ServiceProcess.start(jar, Duration.ofSeconds(90), args)) {
          for (int i = 0; i < commands.size(); i++) {
            String expected = Program.fromTranscript(transcripts.get(i), PastaLimits.defaults()).assembledText();
            Suite.Answer answer = suite.answerOf(commands.get(i).requestId(), Duration.ofSeconds(120));
            assertThat(answer.text()).as("request %d", i).isEqualTo(expected);
          }
          Thread.sleep(1000);
          for (GenerateCommand c : commands) {
            assertThat(suite.doneCount(c.requestId())).isEqualTo(1);
          }
          assertThat(second.log()).contains("state rebuilt from Redis");
        }
      } finally {
        worker.close();
      }
    }
  }
}
