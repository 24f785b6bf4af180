package io.pastaserve.cli;

import io.pastaserve.testing.RedisTestServer;
import io.pastaserve.worker.model.ModelRunner;
import java.io.IOException;
import java.io.PrintStream;
import java.util.List;
import org.springframework.data.redis.connection.lettuce.LettuceConnectionFactory;
import org.springframework.data.redis.core.StringRedisTemplate;

/**
 * The benchmarks of {@code pasta bench} that need Redis ({@code --prefix-kv}, {@code --remote-forks}). Kept apart from
 * {@link BenchCommand} so that the other benchmarks run where Spring Data Redis is not on the class path (the GPU
 * bundle of {@code tools/gpu/build-bundle.sh}).
 */
final class RedisBenches {
  private final PrintStream out;

  RedisBenches(PrintStream out) {
    this.out = out;
  }

  /** {@code --prefix-kv}: a prefix by prefill against its KV through Redis, at each of --lengths. */
  void prefixKv(Options o) throws UsageException, IOException {
    int[] lengths = BenchCommand.integers(o, "--lengths", "64,256,1024");
    int repeat = o.intValue(BenchCommand.NAME, "--repeat", 5, 1, 1000);
    LettuceConnectionFactory factory = connect(o.get("--redis", "127.0.0.1:6379"));
    try (ModelRunner runner = ModelOptions.open(BenchCommand.NAME, o)) {
      String label = o.get("--label", runner.dir().getFileName() + " " + runner.device());
      out.println(PrefixKvBench.table(label,
          new PrefixKvBench(runner, new StringRedisTemplate(factory), repeat).run(lengths)));
    } finally {
      factory.destroy();
    }
  }

  /**
   * {@code --remote-forks --prompts FILE [--redis HOST:PORT] [--repeat N] [--max-tokens N]}: two engines, every fork
   * of the first decoded on the second through Redis, token ids only against the prefix cache; promise to first fork
   * token, p50 and p99 ({@link RemoteForkBench}). Without {@code --redis} it starts a {@code redis-server} of its own.
   */
  void remoteForks(Options o) throws UsageException, IOException {
    List<String> prompts = BenchCommand.prompts(o);
    int rounds = o.intValue(BenchCommand.NAME, "--repeat", 1, 1, 1000);
    int maxTokens = o.intValue(BenchCommand.NAME, "--max-tokens", 600, 1, 1 << 20);
    String address = o.get("--redis", null);
    RedisTestServer server = null;
    if (address == null) {
      try {
        server = RedisTestServer.start();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IOException("redis-server did not start", e);
      }
      address = "127.0.0.1:" + server.port();
    }
    LettuceConnectionFactory factory = connect(address);
    try (ModelRunner here = ModelOptions.open(BenchCommand.NAME, o);
        ModelRunner there = ModelOptions.open(BenchCommand.NAME, o)) {
      String label = o.get("--label", here.dir().getFileName() + " " + here.device());
      out.println(RemoteForkBench.table(label,
          new RemoteForkBench(here, there, new StringRedisTemplate(factory), maxTokens).run(prompts, rounds)));
    } catch (IOException | UsageException | RuntimeException e) {
      throw e;
    } catch (Exception e) {
      throw new IOException("the remote fork bench failed: " + e.getMessage(), e);
    } finally {
      factory.destroy();
      if (server != null) {
        server.close();
      }
    }
  }

  /** A started connection factory for {@code HOST:PORT}. */
  private static LettuceConnectionFactory connect(String address) throws UsageException {
    String[] hostPort = address.split(":");
    if (hostPort.length != 2) {
      throw new UsageException(BenchCommand.NAME + ": --redis needs HOST:PORT");
    }
    LettuceConnectionFactory factory = new LettuceConnectionFactory(hostPort[0], Integer.parseInt(hostPort[1]));
    factory.afterPropertiesSet();
    factory.start();
    return factory;
  }
}
