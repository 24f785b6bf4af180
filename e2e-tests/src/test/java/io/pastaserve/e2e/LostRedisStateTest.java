package io.pastaserve.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.pastaserve.common.messaging.GenerateCommand;
import io.pastaserve.common.messaging.RedisKeys;
import io.pastaserve.common.request.Sampling;
import io.pastaserve.worker.DecoderWorkerApplication;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * Redis restarts without persistence while a request's job waits in Kafka: the worker that takes the job finds no
 * state, and the request ends at once with a clear error in its output stream instead of running into its
 * deadline. The interpreter in process, a real broker and Redis, the worker started once the state is gone.
 */
class LostRedisStateTest {

  @Test
  void aJobWhoseStateRedisLost_endsItsRequestWithAnError_atOnce() throws Exception {
    try (Suite suite = new Suite()) {
      suite.startInterpreter();
      GenerateCommand command = Suite.command("What are 6 important things to know about canaries?",
          new Sampling(0, 1, 0, 0, 64, List.of()), "async", "");
      String id = command.requestId();
      suite.publish(command);
      // recorded and dispatched; no worker runs yet, so the job waits in Kafka
      await().atMost(Duration.ofSeconds(60))
          .until(() -> "running".equals(suite.redis.opsForHash().get(RedisKeys.request(id), "status")));

      suite.redisServer.kill();
      suite.redisServer.launch();
      assertThat(suite.redis.hasKey(RedisKeys.request(id))).as("the state is gone").isFalse();

      ConfigurableApplicationContext worker = new SpringApplicationBuilder(DecoderWorkerApplication.class)
          .properties(suite.shared())
          .properties("pasta.worker.model-dir=" + Suite.MODEL, "pasta.worker.device=cpu").run();
      try {
        Suite.Answer answer = suite.answerOf(id, Duration.ofSeconds(60));
        assertThat(answer.done().get("finishReason")).isEqualTo("error");
        assertThat((String) answer.done().get("error")).contains("state is gone from Redis");
        assertThat(suite.doneCount(id)).isEqualTo(1);
        Set<String> keys = suite.redis.keys("pasta:{" + id + "}*");
        assertThat(keys).as("what the end recreated").isNotEmpty()
            .allMatch(k -> suite.redis.getExpire(k) > 0, "expires");
      } finally {
        worker.close();
      }
    }
  }
}
