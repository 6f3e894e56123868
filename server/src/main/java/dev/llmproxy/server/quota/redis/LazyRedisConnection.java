package dev.llmproxy.server.quota.redis;

import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.async.RedisAsyncCommands;
import io.lettuce.core.codec.StringCodec;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;

/**
 * A Redis connection opened without blocking, on first use, and opened again on demand (at most
 * once per {@code retryInterval}) while the first attempts fail, so the proxy starts, and recovers,
 * whether or not Redis is up. Once connected, Lettuce's own reconnection takes over.
 */
final class LazyRedisConnection implements AutoCloseable {
  private final RedisClient client;
  private final RedisURI uri;
  private final long retryNanos;
  private volatile RedisAsyncCommands<String, String> ready;
  private CompletableFuture<StatefulRedisConnection<String, String>> attempt;
  private long attemptStartedNanos;
  private boolean closed;

  LazyRedisConnection(RedisClient client, RedisURI uri, Duration retryInterval) {
    this.client = client;
    this.uri = uri;
    this.retryNanos = retryInterval.toNanos();
  }

  /** The commands once connected; until then the pending (or a new) connection attempt. */
  CompletableFuture<RedisAsyncCommands<String, String>> commands() {
    RedisAsyncCommands<String, String> commands = ready;
    if (commands != null) {
      return CompletableFuture.completedFuture(commands);
    }
    return connecting().thenApply(StatefulRedisConnection::async);
  }

  private synchronized CompletableFuture<StatefulRedisConnection<String, String>> connecting() {
    if (closed) {
      return CompletableFuture.failedFuture(new IllegalStateException("quota store closed"));
    }
    boolean failed = attempt != null && attempt.isCompletedExceptionally();
    if (attempt == null || (failed && System.nanoTime() - attemptStartedNanos >= retryNanos)) {
      attemptStartedNanos = System.nanoTime();
      attempt = client.connectAsync(StringCodec.UTF8, uri).toCompletableFuture();
      attempt.thenAccept(this::connected);
    }
    return attempt;
  }

  private synchronized void connected(StatefulRedisConnection<String, String> connection) {
    if (closed) {
      connection.closeAsync();
      return;
    }
    ready = connection.async();
  }

  @Override
  public synchronized void close() {
    closed = true;
    RedisAsyncCommands<String, String> commands = ready;
    ready = null;
    if (commands != null) {
      // Never wait here: closing blocks for as long as a hung Redis keeps the channel busy.
      commands.getStatefulConnection().closeAsync();
    }
  }
}
