package dev.llmproxy.server.redis;

import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.async.RedisAsyncCommands;
import io.lettuce.core.codec.RedisCodec;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;

/**
 * A Redis connection opened without blocking, on first use, and opened again on demand (at most
 * once per {@code retryInterval}) while the first attempts fail, so the proxy starts, and recovers,
 * whether or not Redis is up. Once connected, Lettuce's own reconnection takes over.
 */
public final class LazyRedisConnection<K, V> implements AutoCloseable {
  private final RedisClient client;
  private final RedisURI uri;
  private final long retryNanos;
  private final RedisCodec<K, V> codec;
  private volatile RedisAsyncCommands<K, V> ready;
  private CompletableFuture<StatefulRedisConnection<K, V>> attempt;
  private long attemptStartedNanos;
  private boolean closed;

  /** Opens nothing yet: the first {@link #commands()} does. */
  public LazyRedisConnection(RedisClient client, RedisCodec<K, V> codec, RedisURI uri, Duration retryInterval) {
    this.client = client;
    this.codec = codec;
    this.uri = uri;
    this.retryNanos = retryInterval.toNanos();
  }

  /** The commands once connected; until then the pending (or a new) connection attempt. */
  public CompletableFuture<RedisAsyncCommands<K, V>> commands() {
    RedisAsyncCommands<K, V> commands = ready;
    if (commands != null) {
      return CompletableFuture.completedFuture(commands);
    }
    return connecting().thenApply(StatefulRedisConnection::async);
  }

  private synchronized CompletableFuture<StatefulRedisConnection<K, V>> connecting() {
    if (closed) {
      return CompletableFuture.failedFuture(new IllegalStateException("Redis connection closed"));
    }
    boolean failed = attempt != null && attempt.isCompletedExceptionally();
    if (attempt == null || (failed && System.nanoTime() - attemptStartedNanos >= retryNanos)) {
      attemptStartedNanos = System.nanoTime();
      attempt = client.connectAsync(codec, uri).toCompletableFuture();
      attempt.thenAccept(this::connected);
    }
    return attempt;
  }

  private synchronized void connected(StatefulRedisConnection<K, V> connection) {
    if (closed) {
      connection.closeAsync();
      return;
    }
    ready = connection.async();
  }

  @Override
  public synchronized void close() {
    closed = true;
    RedisAsyncCommands<K, V> commands = ready;
    ready = null;
    if (commands != null) {
      // Never wait here: closing blocks for as long as a hung Redis keeps the channel busy.
      commands.getStatefulConnection().closeAsync();
    }
  }
}
