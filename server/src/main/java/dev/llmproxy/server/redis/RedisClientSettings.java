package dev.llmproxy.server.redis;

import io.lettuce.core.ClientOptions;
import io.lettuce.core.RedisCredentials;
import io.lettuce.core.RedisCredentialsProvider;
import io.lettuce.core.RedisURI;
import io.lettuce.core.StaticCredentialsProvider;
import io.lettuce.core.SocketOptions;
import io.lettuce.core.TimeoutOptions;
import io.lettuce.core.resource.ClientResources;
import io.lettuce.core.resource.Delay;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import reactor.core.publisher.Mono;

/**
 * How llmproxy's Redis clients (the quota store, the shared cache) talk to Redis: few threads,
 * quick reconnects, and commands that fail at once while disconnected and time out after the
 * caller's bound, so that Redis being away costs calls a bounded wait and never a queue.
 */
public final class RedisClientSettings {
  private RedisClientSettings() {}

  /**
   * {@code uri} with {@code password} (null: none) as its credential, keeping a user name the URI
   * carries: the password comes from the environment or a file, not from the config file.
   */
  public static RedisURI uri(String uri, String password) {
    return uri(uri, password == null ? null : () -> password);
  }

  /**
   * {@code uri} with a password that {@code password} (null: none) gives anew for every connection
   * Lettuce opens, its reconnects included: a password file that is rotated (on a reload, or by a
   * Secret's update) is used from the next connection on, with no restart. A password that cannot be
   * read fails that connection attempt, and Lettuce tries again after its back-off.
   */
  public static RedisURI uri(String uri, Supplier<String> password) {
    RedisURI redisUri = RedisURI.create(uri);
    if (password != null) {
      String user = redisUri.getCredentialsProvider() instanceof RedisCredentialsProvider.ImmediateRedisCredentialsProvider p
          ? p.resolveCredentialsNow().getUsername() : null;
      redisUri.setCredentialsProvider(
          () -> Mono.fromCallable(() -> RedisCredentials.just(user, password.get().toCharArray())));
    }
    return redisUri;
  }

  /** Lettuce's event loops and timers, {@code threads} of each; reconnects back off from 20 ms to 1 s. */
  public static ClientResources resources(int threads) {
    return ClientResources.builder()
        .ioThreadPoolSize(threads)
        .computationThreadPoolSize(threads)
        .reconnectDelay(Delay.exponential(Duration.ofMillis(20), Duration.ofSeconds(1), 2, TimeUnit.MILLISECONDS))
        .build();
  }

  /** Reconnect by itself, reject commands while disconnected, time every command out after {@code timeout}. */
  public static ClientOptions failFast(Duration timeout) {
    return ClientOptions.builder()
        .autoReconnect(true)
        .disconnectedBehavior(ClientOptions.DisconnectedBehavior.REJECT_COMMANDS)
        .timeoutOptions(TimeoutOptions.enabled(timeout))
        .socketOptions(SocketOptions.builder().connectTimeout(Duration.ofSeconds(2)).keepAlive(true).build())
        .build();
  }
}
