package dev.llmproxy.server.cache;

/**
 * Finished answers by request key: what a cache hit replays. Implementations bound what they hold
 * (in bytes and in age) and may drop any entry at any time; a lookup that finds nothing just means
 * the call goes upstream. Safe for concurrent use.
 */
public interface ResponseCache {
  /** The answer stored for {@code key}, or null when there is none (never stored, evicted or expired). */
  CachedAnswer get(CacheKey key);

  /** Stores {@code answer} for {@code key}, replacing any answer stored before. */
  void put(CacheKey key, CachedAnswer answer);

  /** Entries held now (an estimate while evictions are pending). */
  long entryCount();

  /** Sum of the weights of the entries held now, in bytes. */
  long weightedBytes();
}
