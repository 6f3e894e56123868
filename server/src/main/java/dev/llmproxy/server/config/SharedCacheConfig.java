package dev.llmproxy.server.config;

import java.time.Duration;
import java.util.Objects;

/**
 * The optional second cache level, in Redis, shared by every replica ({@code cache.shared}).
 *
 * @param uri {@code redis://host:port[/db]} or {@code rediss://...}; a password belongs in
 *     {@code password}, so {@link #toString()} shows the URI without one
 * @param password the Redis password, from the environment or a file; null: none
 * @param ttl how long an answer stays in Redis
 * @param maxEntryBytes answers larger than this, compressed, are kept in the local cache only
 * @param timeout the longest a lookup waits for Redis before the call goes upstream
 * @param keyPrefix prefix of every Redis key the cache writes
 */
public record SharedCacheConfig(String uri, SecretRef password, Duration ttl, int maxEntryBytes, Duration timeout,
    String keyPrefix) {
  public static final Duration DEFAULT_TIMEOUT = Duration.ofMillis(50);
  public static final String DEFAULT_KEY_PREFIX = "llmproxy:cache:";

  public SharedCacheConfig {
    Objects.requireNonNull(uri, "uri");
    Objects.requireNonNull(ttl, "ttl");
    Objects.requireNonNull(timeout, "timeout");
    Objects.requireNonNull(keyPrefix, "keyPrefix");
  }

  static SharedCacheConfig from(ConfigNode node, Duration defaultTtl, int defaultMaxEntryBytes) {
    String uri = node.requiredString("uri");
    if (!uri.startsWith("redis://") && !uri.startsWith("rediss://")) {
      throw ConfigException.invalid(node.pathOf("uri"), uri, "redis://host:port or rediss://host:port");
    }
    if (uri.substring(uri.indexOf("://") + 3).contains("@")) {
      throw ConfigException.invalid(node.pathOf("uri"), "(a URI with credentials, not shown)",
          "a URI without a password; put it in cache.shared.password as {env: VARIABLE} or {file: /path}");
    }
    SecretRef password = node.has("password") ? SecretRef.from(node.pathOf("password"), node.raw("password")) : null;
    Duration ttl = node.duration("ttl", defaultTtl);
    if (ttl.toMillis() < 1) {
      throw ConfigException.invalid(node.pathOf("ttl"), ttl.toMillis() + "ms", "a duration > 0, such as 10m");
    }
    int maxEntryBytes = node.integer("max_entry_bytes", defaultMaxEntryBytes, 1, 512 << 20);
    Duration timeout = node.duration("timeout", DEFAULT_TIMEOUT);
    if (timeout.toMillis() < 1 || timeout.toMillis() > 10_000) {
      throw ConfigException.invalid(node.pathOf("timeout"), timeout.toMillis() + "ms", "a duration from 1ms to 10s");
    }
    String keyPrefix = node.string("key_prefix", DEFAULT_KEY_PREFIX);
    node.rejectUnknownKeys();
    return new SharedCacheConfig(uri, password, ttl, maxEntryBytes, timeout, keyPrefix);
  }
}
