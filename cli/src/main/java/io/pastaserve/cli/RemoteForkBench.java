package io.pastaserve.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.pastaserve.common.lang.SpanId;
import io.pastaserve.common.messaging.DecodeSpanCommand;
import io.pastaserve.common.messaging.ForkJob;
import io.pastaserve.common.messaging.RedisKeys;
import io.pastaserve.common.request.Mode;
import io.pastaserve.common.request.Sampling;
import io.pastaserve.worker.engine.Engine;
import io.pastaserve.worker.engine.EngineConfig;
import io.pastaserve.worker.engine.ForkPlacement;
import io.pastaserve.worker.engine.ForkPrefix;
import io.pastaserve.worker.engine.ForkPrefixKv;
import io.pastaserve.worker.engine.Forcing;
import io.pastaserve.worker.engine.GenerationRequest;
import io.pastaserve.worker.engine.GenerationResult;
import io.pastaserve.worker.engine.RemoteFork;
import io.pastaserve.worker.engine.RemoteForks;
import io.pastaserve.worker.engine.SpanListener;
import io.pastaserve.worker.kv.KvSnapshot;
import io.pastaserve.worker.model.ModelRunner;
import io.pastaserve.worker.prefix.PrefixKvStore;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.springframework.data.redis.core.StringRedisTemplate;

/**
 * Forks across workers, in one process: a parent engine places every fork ({@link ForkPlacement#SPREAD}) on a second
 * engine with a runner of its own, through a real Redis, as two workers would. With {@link ForkPrefix#TOKENS} the
 * job carries the token ids only (the fork engine prefills the prefix); with {@link ForkPrefix#KV} the sender also
 * writes the parent's cache to Redis ({@link PrefixKvStore}) and the fork engine reads it back and restores it. The
 * job itself (a {@link DecodeSpanCommand} with its {@link ForkJob}) goes through Redis as JSON on both paths, as it
 * goes through the broker between workers. Per path: the time from the promise (the parent engine hands the job to
 * its sink) to the fork's first token on the other engine, p50 and p99 over every fork, and how many answers are
 * identical to one engine's alone. The prompts alternate the paths, so drift favours neither.
 */
final class RemoteForkBench {

  /** One path's forks: promise to first fork token, in ms, sorted; answers identical to one engine's. */
  record PathResult(ForkPrefix path, List<Double> firstTokenMs, long kvBytes, int identical, int answers) {

    double percentile(double p) {
      if (firstTokenMs.isEmpty()) {
        return Double.NaN;
      }
      int rank = (int) Math.ceil(p * firstTokenMs.size());
      return firstTokenMs.get(Math.max(0, Math.min(firstTokenMs.size() - 1, rank - 1)));
    }
  }

  private final ModelRunner here;
  private final ModelRunner there;
  private final StringRedisTemplate redis;
  private final PrefixKvStore store;
  private final ObjectMapper json = new ObjectMapper();
  private final int maxTokens;

  RemoteForkBench(ModelRunner here, ModelRunner there, StringRedisTemplate redis, int maxTokens) {
    this.here = here;
    this.there = there;
    this.redis = redis;
    this.store = new PrefixKvStore(redis, 1 << 20, Long.MAX_VALUE, Duration.ofMinutes(1));
    this.maxTokens = maxTokens;
  }

  /** Every prompt {@code rounds} times on each path, greedy and async, after one warm-up prompt on each. */
  List<PathResult> run(List<String> prompts, int rounds) throws Exception {
    Map<ForkPrefix, List<Double>> latencies = new EnumMap<>(ForkPrefix.class);
    Map<ForkPrefix, long[]> counts = new EnumMap<>(ForkPrefix.class); // identical, answers, KV bytes
    for (ForkPrefix p : ForkPrefix.values()) {
      latencies.put(p, Collections.synchronizedList(new ArrayList<>()));
      counts.put(p, new long[3]);
    }
    ExecutorService sender = Executors.newSingleThreadExecutor(r -> daemon(r, "bench-fork-sender"));
    ExecutorService receiver = Executors.newSingleThreadExecutor(r -> daemon(r, "bench-fork-receiver"));
    AtomicBoolean recording = new AtomicBoolean();
    try (Engine parent = new Engine(here, EngineConfig.defaults());
        Engine forks = new Engine(there, EngineConfig.defaults())) {
      List<String> reference = new ArrayList<>();
      for (int i = 0; i < prompts.size(); i++) {
        reference.add(forks.generate(request("alone-" + i, prompts.get(i))).annotated());
      }
      Courier courier = new Courier(parent, forks, sender, receiver, latencies, counts, recording);
      int n = 0;
      for (int k = -1; k < rounds; k++) {
        recording.set(k >= 0); // round -1 warms up on the first prompt
        for (int i = 0; i < (k < 0 ? 1 : prompts.size()); i++) {
          ForkPrefix[] order = (i + k) % 2 == 0 ? new ForkPrefix[] {ForkPrefix.TOKENS, ForkPrefix.KV}
              : new ForkPrefix[] {ForkPrefix.KV, ForkPrefix.TOKENS};
          for (ForkPrefix path : order) {
            parent.placeForks(ForkPlacement.SPREAD, courier, path);
            GenerationResult r = parent.submit(request("r" + n++ + "-" + path, prompts.get(i)))
                .get(10, TimeUnit.MINUTES);
            if (k >= 0) {
              counts.get(path)[0] += r.annotated().equals(reference.get(i)) ? 1 : 0;
              counts.get(path)[1]++;
            }
          }
        }
      }
    } finally {
      sender.shutdownNow();
      receiver.shutdownNow();
    }
    List<PathResult> out = new ArrayList<>();
    for (ForkPrefix p : ForkPrefix.values()) {
      List<Double> sorted = new ArrayList<>(latencies.get(p));
      Collections.sort(sorted);
      long[] c = counts.get(p);
      out.add(new PathResult(p, sorted, sorted.isEmpty() ? 0 : c[2] / sorted.size(), (int) c[0], (int) c[1]));
    }
    return out;
  }

  private GenerationRequest request(String id, String prompt) {
    return GenerationRequest.of(id, prompt, Sampling.greedy(maxTokens), Mode.ASYNC);
  }

  /**
   * The sink between the two engines: the sender writes the job (and the prefix cache) to Redis off the scheduler's
   * thread; the receiver reads them back, as the other worker's consumer would, and submits the fork there.
   */
  private final class Courier implements RemoteForks {

    private final Engine parent;
    private final Engine forks;
    private final ExecutorService sender;
    private final ExecutorService receiver;
    private final Map<ForkPrefix, List<Double>> latencies;
    private final Map<ForkPrefix, long[]> counts;
    private final AtomicBoolean recording;

    Courier(Engine parent, Engine forks, ExecutorService sender, ExecutorService receiver,
        Map<ForkPrefix, List<Double>> latencies, Map<ForkPrefix, long[]> counts, AtomicBoolean recording) {
      this.parent = parent;
      this.forks = forks;
      this.sender = sender;
      this.receiver = receiver;
      this.latencies = latencies;
      this.counts = counts;
      this.recording = recording;
    }

    @Override
    public void fork(RemoteFork job) {
      long promised = System.nanoTime();
      boolean record = recording.get();
      sender.execute(() -> send(job, promised, record));
    }

    private void send(RemoteFork job, long promised, boolean record) {
      GenerationRequest r = job.request();
      ForkJob.PrefixKv named = null;
      if (job.prefixKv().isPresent()) {
        ForkPrefixKv p = job.prefixKv().get();
        String key = RedisKeys.prefixKv(r.id(), job.span(), p.kv().columns());
        if (store.put(key, p.kv())) {
          named = new ForkJob.PrefixKv(key, p.tokens(), p.positions(), p.shared());
        }
        if (record) {
          synchronized (counts) {
            counts.get(ForkPrefix.KV)[2] += p.kv().byteSize();
          }
        }
      }
      DecodeSpanCommand command = new DecodeSpanCommand(DecodeSpanCommand.VERSION, r.id(), job.span(), r.prompt(),
          r.sampling(), r.mode(), 1, "", "", r.limits().orElse(null),
          new ForkJob(job.tokensBySpan(), job.forksBySpan(), named));
      String jobKey = RedisKeys.forkOwner(r.id(), job.span()) + ":bench-job";
      redis.opsForValue().set(jobKey, write(command), Duration.ofMinutes(1));
      receiver.execute(() -> receive(jobKey, promised, record));
    }

    private void receive(String jobKey, long promised, boolean record) {
      DecodeSpanCommand command = read(redis.opsForValue().getAndDelete(jobKey));
      ForkJob fork = command.fork();
      Optional<ForkPrefixKv> prefix = Optional.empty();
      if (fork.prefixKv() != null) {
        ForkJob.PrefixKv named = fork.prefixKv();
        Optional<KvSnapshot> columns = store.get(named.key());
        store.delete(named.key());
        prefix = columns.map(c -> new ForkPrefixKv(c, named.tokens(), named.positions(), named.shared()));
      }
      ForkPrefix path = fork.prefixKv() == null ? ForkPrefix.TOKENS : ForkPrefix.KV;
      String span = command.spanId();
      GenerationRequest request = new GenerationRequest(command.requestId(), command.prompt(), command.sampling(),
          command.mode(), Optional.of(new Forcing.Fork(fork.tokensBySpan(), fork.forksBySpan(), span, prefix)),
          Optional.ofNullable(command.limits()));
      List<Integer> tokens = new ArrayList<>();
      forks.submit(request, new SpanListener() {
        @Override
        public void onToken(SpanId id, int index, int token) {
          if (id.path().equals(span)) {
            if (tokens.isEmpty() && record) {
              latencies.get(path).add((System.nanoTime() - promised) / 1e6);
            }
            tokens.add(token);
          }
        }
      }).thenAccept(done -> parent.remoteForkDone(command.requestId(), span, tokens));
    }

    private String write(DecodeSpanCommand command) {
      try {
        return json.writeValueAsString(command);
      } catch (JsonProcessingException e) {
        throw new IllegalStateException(e);
      }
    }

    private DecodeSpanCommand read(String value) {
      try {
        return json.readValue(value, DecodeSpanCommand.class);
      } catch (JsonProcessingException e) {
        throw new IllegalStateException(e);
      }
    }
  }

  private static Thread daemon(Runnable r, String name) {
    Thread t = new Thread(r, name);
    t.setDaemon(true);
    return t;
  }

  static String table(String label, List<PathResult> rows) {
    StringBuilder sb = new StringBuilder(String.format(Locale.ROOT,
        "%s: forks on another engine through Redis, promise -> first fork token%n%-22s %6s %9s %9s %12s %10s%n",
        label, "prefix", "forks", "p50 ms", "p99 ms", "KV bytes/fork", "identical"));
    for (PathResult r : rows) {
      sb.append(String.format(Locale.ROOT, "%-22s %6d %9.2f %9.2f %12d %7d/%d%n",
          r.path() == ForkPrefix.KV ? "kv (cache via Redis)" : "tokens (ids, prefill)", r.firstTokenMs().size(),
          r.percentile(0.50), r.percentile(0.99), r.kvBytes(), r.identical(), r.answers()));
    }
    return sb.toString().stripTrailing();
  }
}
