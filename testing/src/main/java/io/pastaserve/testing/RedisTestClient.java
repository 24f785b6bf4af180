package io.pastaserve.testing;

import java.io.IOException;
import org.springframework.data.redis.connection.lettuce.LettuceConnectionFactory;
import org.springframework.data.redis.core.StringRedisTemplate;

/**
 * A {@link RedisTestServer} and a {@link StringRedisTemplate} connected to it, for tests of code that talks to Redis
 * directly (the services' own tests get theirs from Spring Boot).
 */
public final class RedisTestClient implements AutoCloseable {

  private final RedisTestServer server;
  private final LettuceConnectionFactory factory;
  private final StringRedisTemplate template;

  private RedisTestClient(RedisTestServer server) {
    this.server = server;
    this.factory = new LettuceConnectionFactory("127.0.0.1", server.port());
    factory.afterPropertiesSet();
    factory.start();
    this.template = new StringRedisTemplate(factory);
  }

  /** A started server without persistence, on a free port, and a client of it. */
  public static RedisTestClient start() throws IOException, InterruptedException {
    return new RedisTestClient(RedisTestServer.start());
  }

  /**
   * Kills the server (SIGKILL) and starts it again on the same port: without persistence it comes back empty, as a
   * production Redis without persistence would after a restart. The client reconnects by itself.
   */
  public void restartEmpty() throws IOException, InterruptedException {
    server.kill();
    server.launch();
  }

  public StringRedisTemplate template() {
    return template;
  }

  public int port() {
    return server.port();
  }

  @Override
  public void close() {
    factory.destroy();
    server.close();
  }
}
