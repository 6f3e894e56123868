package dev.llmproxy.server.cache;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.RemovalCause;
import com.github.benmanes.caffeine.cache.Ticker;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.Executor;

/**
 * A {@link ResponseCache} in a Caffeine cache bounded by total weight (each entry weighs its
 * serialized size, {@link CachedAnswer#weight()}) and expiring entries a fixed time after they were
 * written. Time comes from the injected {@link Ticker}, and maintenance (evictions and their
 * listener) runs on the injected executor, so tests can drive both.
 */
final class CaffeineResponseCache implements ResponseCache {
  private final Cache<CacheKey, CachedAnswer> cache;

  CaffeineResponseCache(long maxBytes, Duration ttl, Ticker ticker, Executor executor, CacheMetrics metrics) {
    Objects.requireNonNull(metrics, "metrics");
    this.cache = Caffeine.newBuilder()
        .maximumWeight(maxBytes)
        .weigher((CacheKey key, CachedAnswer answer) -> answer.weight())
        .expireAfterWrite(ttl)
        .ticker(ticker)
        .executor(executor)
        .removalListener((CacheKey key, CachedAnswer answer, RemovalCause cause) -> {
          if (cause == RemovalCause.SIZE) {
            metrics.evictedForSize();
          } else if (cause == RemovalCause.EXPIRED) {
            metrics.expired();
          }
        })
        .build();
    metrics.gauge("llmproxy.cache.size.bytes", "Bytes the cached answers weigh", this, ResponseCache::weightedBytes);
    metrics.gauge("llmproxy.cache.entries", "Answers held in the cache", this, ResponseCache::entryCount);
  }

  @Override
  public CachedAnswer get(CacheKey key) {
    return cache.getIfPresent(key);
  }

  @Override
  public void put(CacheKey key, CachedAnswer answer) {
    cache.put(key, answer);
  }

  @Override
  public long entryCount() {
    return cache.estimatedSize();
  }

  @Override
  public long weightedBytes() {
    return cache.policy().eviction().map(e -> e.weightedSize().orElse(0L)).orElse(0L);
  }

  /** Runs pending maintenance now (evictions, expiries); for tests. */
  void cleanUp() {
    cache.cleanUp();
  }
}
