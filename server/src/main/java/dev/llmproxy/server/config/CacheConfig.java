package dev.llmproxy.server.config;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * The response cache: in memory, bounded in bytes and in age, shared by both RPCs.
 *
 * @param maxBytes the most the cache holds, counted as the serialized size of the stored answers
 * @param maxEntryBytes answers larger than this pass through and are not stored
 * @param ttl how long an answer stays after it was stored
 * @param coalesce whether identical calls join one upstream call already in flight
 * @param mode which requests are cacheable on routes that {@code routes} does not name
 * @param routes per-route overrides of {@code mode}, by route name
 * @param shared the second level in Redis, shared by replicas; null: none
 */
public record CacheConfig(boolean enabled, long maxBytes, int maxEntryBytes, Duration ttl,
    CacheNamespace namespace, boolean coalesce, CacheMode mode, Map<String, CacheMode> routes,
    SharedCacheConfig shared) {

  public static final long DEFAULT_MAX_BYTES = 256L << 20;
  public static final int DEFAULT_MAX_ENTRY_BYTES = 1 << 20;
  public static final Duration DEFAULT_TTL = Duration.ofMinutes(10);

  public CacheConfig {
    Objects.requireNonNull(ttl, "ttl");
    Objects.requireNonNull(namespace, "namespace");
    Objects.requireNonNull(mode, "mode");
    routes = Map.copyOf(routes);
    if (maxBytes < 1) {
      throw ConfigException.invalid("cache.max_bytes", maxBytes, "> 0");
    }
    if (maxEntryBytes < 1 || maxEntryBytes > maxBytes) {
      throw ConfigException.invalid("cache.max_entry_bytes", maxEntryBytes,
          "from 1 to cache.max_bytes (" + maxBytes + ")");
    }
    if (ttl.isNegative() || ttl.isZero()) {
      throw ConfigException.invalid("cache.ttl", ttl, "a duration > 0");
    }
  }

  /** A cache in this process only. */
  public CacheConfig(boolean enabled, long maxBytes, int maxEntryBytes, Duration ttl, CacheNamespace namespace,
      boolean coalesce, CacheMode mode, Map<String, CacheMode> routes) {
    this(enabled, maxBytes, maxEntryBytes, ttl, namespace, coalesce, mode, routes, null);
  }

  /** The cache of a config without a {@code cache} section: on, deterministic requests only. */
  public static CacheConfig defaults() {
    return new CacheConfig(true, DEFAULT_MAX_BYTES, DEFAULT_MAX_ENTRY_BYTES, DEFAULT_TTL,
        CacheNamespace.SHARED, true, CacheMode.DETERMINISTIC, Map.of());
  }

  /** No response cache: every call goes upstream. */
  public static CacheConfig disabled() {
    return defaults().withEnabled(false);
  }

  public CacheConfig withEnabled(boolean on) {
    return new CacheConfig(on, maxBytes, maxEntryBytes, ttl, namespace, coalesce, mode, routes, shared);
  }

  public CacheConfig withNamespace(CacheNamespace ns) {
    return new CacheConfig(enabled, maxBytes, maxEntryBytes, ttl, ns, coalesce, mode, routes, shared);
  }

  public CacheConfig withBounds(long totalBytes, int entryBytes, Duration timeToLive) {
    return new CacheConfig(enabled, totalBytes, entryBytes, timeToLive, namespace, coalesce, mode, routes, shared);
  }

  public CacheConfig withCoalesce(boolean on) {
    return new CacheConfig(enabled, maxBytes, maxEntryBytes, ttl, namespace, on, mode, routes, shared);
  }

  public CacheConfig withModes(CacheMode defaultMode, Map<String, CacheMode> perRoute) {
    return new CacheConfig(enabled, maxBytes, maxEntryBytes, ttl, namespace, coalesce, defaultMode, perRoute, shared);
  }

  public CacheConfig withShared(SharedCacheConfig secondLevel) {
    return new CacheConfig(enabled, maxBytes, maxEntryBytes, ttl, namespace, coalesce, mode, routes, secondLevel);
  }

  /** The mode that applies to the route named {@code route}. */
  public CacheMode modeOf(String route) {
    return routes.getOrDefault(route, mode);
  }

  static CacheConfig from(ConfigNode node) {
    CacheConfig d = defaults();
    boolean enabled = node.bool("enabled", true);
    long maxBytes = node.longValue("max_bytes", d.maxBytes(), 1, Long.MAX_VALUE);
    int maxEntryBytes = node.integer("max_entry_bytes", (int) Math.min(d.maxEntryBytes(), maxBytes), 1,
        Integer.MAX_VALUE);
    if (maxEntryBytes > maxBytes) {
      throw ConfigException.invalid(node.pathOf("max_entry_bytes"), maxEntryBytes,
          "at most max_bytes (" + maxBytes + ")");
    }
    Duration ttl = node.duration("ttl", d.ttl());
    if (ttl.isZero()) {
      throw ConfigException.invalid(node.pathOf("ttl"), "0", "a duration > 0, such as 30s or 10m");
    }
    CacheNamespace namespace = node.enumValue("namespace", d.namespace(), CacheNamespace.class);
    boolean coalesce = node.bool("coalesce", true);
    CacheMode mode = mode(node, d.mode());
    Map<String, CacheMode> routes = new LinkedHashMap<>();
    Object perRoute = node.raw("routes");
    ConfigNode routesNode = ConfigNode.of(node.pathOf("routes"), perRoute);
    if (perRoute instanceof Map<?, ?> names) {
      for (Object route : names.keySet()) {
        ConfigNode r = routesNode.child((String) route);
        routes.put((String) route, mode(r, mode));
        r.rejectUnknownKeys();
      }
    }
    SharedCacheConfig shared = node.has("shared")
        ? SharedCacheConfig.from(node.child("shared"), ttl, maxEntryBytes) : null;
    node.rejectUnknownKeys();
    return new CacheConfig(enabled, maxBytes, maxEntryBytes, ttl, namespace, coalesce, mode, routes, shared);
  }

  /** A {@code mode}; YAML reads a bare {@code off} as false, which means off here too. */
  private static CacheMode mode(ConfigNode node, CacheMode defaultMode) {
    if (Boolean.FALSE.equals(node.raw("mode"))) {
      return CacheMode.OFF;
    }
    return node.enumValue("mode", defaultMode, CacheMode.class);
  }
}
