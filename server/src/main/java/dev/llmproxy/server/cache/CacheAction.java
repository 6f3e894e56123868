package dev.llmproxy.server.cache;

/** What the cache does with one call: the outcome of {@link CachePolicy#decide}. */
enum CacheAction {
  /** Answer from the cache or join an identical call in flight; otherwise go upstream and store. */
  LOOKUP,
  /** Go upstream without reading the cache (identical calls may join), and store the answer. */
  REFRESH,
  /** Neither read nor store: the call goes upstream as if there were no cache. */
  BYPASS
}
