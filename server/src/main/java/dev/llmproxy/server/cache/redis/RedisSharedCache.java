package dev.llmproxy.server.cache.redis;

import dev.llmproxy.server.cache.CacheKey;
import dev.llmproxy.server.cache.CachedAnswer;
import dev.llmproxy.server.cache.CachedAnswerCodec;
import dev.llmproxy.server.cache.SharedResponseCache;
import dev.llmproxy.server.config.SharedCacheConfig;
import dev.llmproxy.server.redis.LazyRedisConnection;
import dev.llmproxy.server.redis.RedisClientSettings;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.SetArgs;
import io.lettuce.core.codec.ByteArrayCodec;
import io.lettuce.core.resource.ClientResources;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import java.util.logging.Logger;

/**
 * The shared cache level in Redis: one key per answer ({@code key_prefix} + the request digest in
 * hex), its value the compressed {@link CachedAnswerCodec} bytes, written with {@code SET PX} so
 * Redis expires it. Lettuce, asynchronous: no call waits on a gRPC thread, and a lookup that has
 * no answer within {@code timeout} (Redis down, slow, still connecting) is a miss. While Redis is
 * unreachable commands fail at once rather than queue, and the connection is retried in the
 * background; the local cache goes on serving meanwhile.
 *
 * <p>Meters: {@code llmproxy.cache.shared.lookups{result=hit|miss|failed}} and
 * {@code llmproxy.cache.shared.stores{result=stored|too_large|failed}}.
 */
public final class RedisSharedCache implements SharedResponseCache {
  private static final Logger LOG = Logger.getLogger(RedisSharedCache.class.getName());
  private static final long LOG_INTERVAL_NANOS = TimeUnit.SECONDS.toNanos(10);

  private final SharedCacheConfig config;
  private final ClientResources resources;
  private final RedisClient client;
  private final LazyRedisConnection<byte[], byte[]> connection;
  private final Counter hits;
  private final Counter misses;
  private final Counter lookupFailures;
  private final Counter stored;
  private final Counter tooLarge;
  private final Counter storeFailures;
  private volatile long lastWarningNanos = System.nanoTime() - LOG_INTERVAL_NANOS;

  /** @param password the resolved {@code password}, or null */
  public RedisSharedCache(SharedCacheConfig config, String password, MeterRegistry meters) {
    this(config, password == null ? null : () -> password, meters);
  }

  /** @param password gives the password for each connection (a rotated file is read again), or null */
  public RedisSharedCache(SharedCacheConfig config, Supplier<String> password, MeterRegistry meters) {
    this.config = config;
    this.resources = RedisClientSettings.resources(2); // Lettuce's minimum
    RedisURI uri = RedisClientSettings.uri(config.uri(), password);
    this.client = RedisClient.create(resources, uri);
    client.setOptions(RedisClientSettings.failFast(config.timeout()));
    this.connection = new LazyRedisConnection<>(client, ByteArrayCodec.INSTANCE, uri, Duration.ofMillis(500));
    this.hits = lookups(meters, "hit");
    this.misses = lookups(meters, "miss");
    this.lookupFailures = lookups(meters, "failed");
    this.stored = stores(meters, "stored");
    this.tooLarge = stores(meters, "too_large");
    this.storeFailures = stores(meters, "failed");
    connection.commands(); // connect now, so the first lookups need not wait for it
  }

  private static Counter lookups(MeterRegistry meters, String result) {
    return Counter.builder("llmproxy.cache.shared.lookups")
        .description("Lookups in the shared (Redis) cache after a local miss; failed: no answer in time")
        .tag("result", result).register(meters);
  }

  private static Counter stores(MeterRegistry meters, String result) {
    return Counter.builder("llmproxy.cache.shared.stores")
        .description("Answers written to the shared (Redis) cache")
        .tag("result", result).register(meters);
  }

  private byte[] redisKey(CacheKey key) {
    return (config.keyPrefix() + key).getBytes(StandardCharsets.UTF_8);
  }

  @Override
  public CompletionStage<CachedAnswer> get(CacheKey key) {
    byte[] redisKey = redisKey(key);
    return connection.commands()
        .thenCompose(redis -> redis.get(redisKey).toCompletableFuture())
        .thenApply(bytes -> {
          CachedAnswer answer = bytes == null ? null : CachedAnswerCodec.decode(bytes);
          (answer != null ? hits : misses).increment();
          return answer;
        })
        .orTimeout(config.timeout().toNanos(), TimeUnit.NANOSECONDS) // a late answer is dropped, uncounted
        .exceptionally(e -> {
          lookupFailures.increment();
          warn("lookup", e);
          return null;
        });
  }

  @Override
  public void put(CacheKey key, CachedAnswer answer) {
    byte[] value = CachedAnswerCodec.encode(answer);
    if (value.length > config.maxEntryBytes()) {
      tooLarge.increment();
      return;
    }
    byte[] redisKey = redisKey(key);
    connection.commands()
        .thenCompose(redis -> redis.set(redisKey, value, SetArgs.Builder.px(config.ttl().toMillis())).toCompletableFuture())
        .whenComplete((ok, e) -> {
          if (e == null) {
            stored.increment();
          } else {
            storeFailures.increment();
            warn("store", e);
          }
        });
  }

  /** At most one line per 10 s: an outage is one event, not one line per call. */
  private void warn(String operation, Throwable e) {
    long now = System.nanoTime();
    long last = lastWarningNanos;
    if (now - last >= LOG_INTERVAL_NANOS) {
      lastWarningNanos = now;
      Throwable cause = e instanceof java.util.concurrent.CompletionException && e.getCause() != null ? e.getCause() : e;
      LOG.warning("shared cache: Redis " + operation + " failed (" + cause.getClass().getSimpleName()
          + (cause.getMessage() == null ? "" : ": " + cause.getMessage())
          + "); calls go on with the local cache (logged at most every 10 s)");
    }
  }

  @Override
  public void close() {
    connection.close();
    client.shutdownAsync(0, 2, TimeUnit.SECONDS);
    resources.shutdown(0, 2, TimeUnit.SECONDS);
  }
}
