package io.pastaserve.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.pastaserve.common.messaging.GenerateCommand;
import io.pastaserve.common.request.Sampling;
import io.pastaserve.worker.DecoderWorkerApplication;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * A Redis without persistence restarted while requests decode: their state is gone. The interpreter meets their
 * next span events and ends each one at once with a clear error entry in its output stream (what the gateway reads
 * and answers with), instead of leaving its reader to wait for its deadline; every key written afterwards expires.
 */
class RedisWithoutPersistenceTest {

  @Test
  void requestsWhoseStateIsLost_endAtOnceWithAClearError() throws Exception {
    List<String> transcripts = Files.readAllLines(Suite.MODEL.resolve("heldout-transcripts.txt"),
        StandardCharsets.UTF_8).stream().sorted(Comparator.comparingInt(String::length).reversed()).limit(4)
        .map(l -> l.replace("\\n", "\n")).toList();
    try (Suite suite = new Suite()) {
      suite.startInterpreter();
      ConfigurableApplicationContext worker = new SpringApplicationBuilder(DecoderWorkerApplication.class)
          .properties(suite.shared())
          .properties("pasta.worker.model-dir=" + Suite.MODEL, "pasta.worker.device=cpu").run();
      try {
        // the worker owns every span-job partition before the jobs go out, so all four start together instead of
        // two of them after a rebalance, when the first two may have finished
        await().atMost(Duration.ofSeconds(90)).until(() -> Suite.jobPartitions(worker) == 4);
        List<GenerateCommand> commands = new ArrayList<>();
        for (String t : transcripts) {
          GenerateCommand c = Suite.command("p", new Sampling(0, 1, 0, 0, 4096, List.of()), "serial", t);
          commands.add(c);
          suite.publish(c);
        }
        // every request runs on the worker (a job still in Kafka is the worker's to end when it finds no state)
        await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(20))
            .until(() -> commands.stream().allMatch(c -> !suite.textOf(c.requestId()).isEmpty()));
        assertThat(commands.stream().filter(c -> suite.doneCount(c.requestId()) > 0)).as("none finished yet").isEmpty();
        suite.restartRedisEmpty();
        for (GenerateCommand c : commands) {
          await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(100)).ignoreExceptions()
              .until(() -> suite.doneCount(c.requestId()) == 1);
          Suite.Answer answer = suite.answerOf(c.requestId(), Duration.ofSeconds(1));
          assertThat(answer.done()).containsEntry("finishReason", "error");
          assertThat((String) answer.done().get("error")).contains("state");
        }
        Set<String> keys = suite.redis.keys("pasta:{*");
        assertThat(keys).isNotEmpty();
        for (String key : keys) {
          assertThat(suite.redis.getExpire(key)).as("expiry of %s", key).isPositive();
        }
      } finally {
        worker.close();
      }
    }
  }
}
