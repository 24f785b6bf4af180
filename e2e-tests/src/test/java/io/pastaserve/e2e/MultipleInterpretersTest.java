package io.pastaserve.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.pastaserve.common.lang.PastaLimits;
import io.pastaserve.common.lang.Program;
import io.pastaserve.common.messaging.GenerateCommand;
import io.pastaserve.common.request.Sampling;
import io.pastaserve.testing.ServiceProcess;
import io.pastaserve.worker.DecoderWorkerApplication;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * Two interpreter services as real processes, as the chart runs them: while 16 requests stream, a second instance
 * joins (span-event partitions move to it) and the first is killed with SIGKILL (they move back, from offsets behind
 * what was recorded). Every answer is the text one interpreter alone gives, once. Then 2,000 more requests run over
 * two instances: the views each keeps of running requests go when the requests end, so their number returns to zero.
 */
class MultipleInterpretersTest {

  private static final Logger log = LoggerFactory.getLogger(MultipleInterpretersTest.class);

  /** Requests of the second phase; {@code -Dpasta.e2e.view-requests=N} for another count. */
  static final int REQUESTS = Integer.getInteger("pasta.e2e.view-requests", 2000);

  /** The {@code pasta_interpreter_views} gauge of one instance. */
  static double views(ServiceProcess interpreter) throws Exception {
    HttpResponse<String> response = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(
        "http://127.0.0.1:" + interpreter.port() + "/actuator/prometheus")).build(),
        HttpResponse.BodyHandlers.ofString());
    return response.body().lines().filter(l -> l.startsWith("pasta_interpreter_views"))
        .mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1))).sum();
  }

  @Test
  void interpretersJoiningAndDying_whileRequestsStream_loseAndRepeatNothing_andKeepNoViews() throws Exception {
    List<String> transcripts = Files.readAllLines(Suite.MODEL.resolve("heldout-transcripts.txt"),
        StandardCharsets.UTF_8).stream().map(l -> l.replace("\\n", "\n")).toList();
    List<String> prompts = Suite.heldoutPrompts().subList(0, 16);
    Path jar = Suite.ROOT.resolve("interpreter-service/target").resolve(
        "interpreter-service-" + System.getProperty("project.version", "0.1.0-SNAPSHOT") + "-exec.jar");
    try (Suite suite = new Suite()) {
      ConfigurableApplicationContext worker = new SpringApplicationBuilder(DecoderWorkerApplication.class)
          .properties(suite.shared())
          .properties("pasta.worker.model-dir=" + Suite.MODEL, "pasta.worker.device=cpu",
              "pasta.worker.max-requests=16").run();
      List<String> argList = new ArrayList<>(List.of(suite.sharedArgs()));
      // a dead instance's partitions move after 6 s instead of the default 45 s
      argList.addAll(List.of("--spring.kafka.consumer.properties.session.timeout.ms=6000",
          "--spring.kafka.consumer.properties.heartbeat.interval.ms=1000"));
      String[] args = argList.toArray(String[]::new);
      try (ServiceProcess first = ServiceProcess.start(jar, Duration.ofSeconds(90), args)) {
        // 16 clients send replayed transcripts one after another while the second instance joins and the first dies
        AtomicBoolean stop = new AtomicBoolean();
        AtomicInteger answered = new AtomicInteger();
        ExecutorService clients = Executors.newFixedThreadPool(16);
        List<Future<?>> futures = new ArrayList<>();
        try {
          for (int c = 0; c < 16; c++) {
            int client = c;
            futures.add(clients.submit(() -> {
              for (int n = client; !stop.get(); n += 16) {
                String transcript = transcripts.get(n % transcripts.size());
                GenerateCommand command = Suite.command("p", new Sampling(0, 1, 0, 0, 4096, List.of()),
                    n % 2 == 0 ? "async" : "serial", transcript);
                suite.publish(command);
                Suite.Answer answer = suite.answerOf(command.requestId(), Duration.ofSeconds(180));
                String expected = Program.fromTranscript(transcript, PastaLimits.defaults()).assembledText();
                assertThat(answer.text()).as("request %d", n).isEqualTo(expected);
                assertThat(answer.done()).as("request %d", n).containsEntry("finishReason", "stop");
                assertThat(suite.doneCount(command.requestId())).as("request %d: one final entry", n).isEqualTo(1);
                answered.incrementAndGet();
              }
              return null;
            }));
          }
          try (ServiceProcess second = ServiceProcess.start(jar, Duration.ofSeconds(120), args)) {
            await().atMost(Duration.ofSeconds(60)).until(() -> second.log().contains("span-event partitions assigned"));
            int before = answered.get();
            first.kill();
            log.info("second interpreter joined; the first killed after {} answers, 16 requests streaming", before);
            // the first's partitions come to the second once its session has expired; requests go on meanwhile
            await().atMost(Duration.ofSeconds(180)).until(() -> answered.get() >= before + 32);
            stop.set(true);
            for (Future<?> f : futures) {
              f.get();
            }
            log.info("{} answers, each the one-interpreter text, once", answered.get());
            try (ServiceProcess third = ServiceProcess.start(jar, Duration.ofSeconds(120), args)) {
              manyRequests(suite, prompts, List.of(second, third));
            }
          }
        } finally {
          stop.set(true);
          clients.shutdownNow();
        }
      } finally {
        worker.close();
      }
    }
  }

  /**
   * {@link #REQUESTS} short greedy requests, 16 at a time, over two interpreters: each answer is the first answer of
   * its prompt; the views are sampled as the requests go, and return to zero once they have ended.
   */
  private void manyRequests(Suite suite, List<String> prompts, List<ServiceProcess> interpreters) throws Exception {
    Sampling sampling = new Sampling(0, 1, 0, 0, 8, List.of());
    Map<String, String> first = new ConcurrentHashMap<>();
    AtomicInteger next = new AtomicInteger();
    List<Double> samples = new ArrayList<>();
    ExecutorService clients = Executors.newFixedThreadPool(16);
    try {
      List<Future<?>> futures = new ArrayList<>();
      for (int c = 0; c < 16; c++) {
        futures.add(clients.submit(() -> {
          for (int n = next.getAndIncrement(); n < REQUESTS; n = next.getAndIncrement()) {
            String prompt = prompts.get(n % prompts.size());
            GenerateCommand command = Suite.command(prompt, sampling, "serial", "");
            Suite.Answer answer = suite.send(command);
            assertThat(answer.done().get("finishReason")).as("request %d", n).isIn("stop", "length");
            String before = first.putIfAbsent(prompt, answer.text());
            assertThat(answer.text()).as("request %d (%s)", n, prompt).isEqualTo(before == null ? answer.text()
                : before);
          }
          return null;
        }));
      }
      int sampledAt = 0;
      while (futures.stream().anyMatch(f -> !f.isDone())) {
        if (next.get() >= sampledAt + 250) {
          sampledAt = next.get();
          double views = 0;
          for (ServiceProcess i : interpreters) {
            views += views(i);
          }
          samples.add(views);
          log.info("{} requests: {} views", sampledAt, views);
        }
        Thread.sleep(200);
      }
      for (Future<?> f : futures) {
        f.get();
      }
    } finally {
      clients.shutdownNow();
    }
    assertThat(samples).as("views while 16 requests run").allSatisfy(v -> assertThat(v).isLessThanOrEqualTo(16));
    await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
      for (ServiceProcess i : interpreters) {
        assertThat(views(i)).as("views once every request has ended").isZero();
      }
    });
  }
}
