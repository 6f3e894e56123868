package dev.llmproxy.server.cache;

import java.util.concurrent.CompletionStage;

/**
 * A second cache level that replicas share, behind the local {@link ResponseCache}. Lookups are
 * asynchronous and bounded in time; a store that is slow or down reads as a miss, so an outage
 * costs calls at most the lookup timeout and never fails them.
 */
public interface SharedResponseCache extends AutoCloseable {
  /** The answer stored for {@code key}; completes with null on a miss, a failure or a timeout, never exceptionally. */
  CompletionStage<CachedAnswer> get(CacheKey key);

  /** Stores {@code answer} for {@code key} in the background; failures are counted, not thrown. */
  void put(CacheKey key, CachedAnswer answer);

  @Override
  void close();
}
