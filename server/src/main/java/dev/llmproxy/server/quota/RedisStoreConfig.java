package dev.llmproxy.server.quota;

import dev.llmproxy.server.config.ConfigException;
import dev.llmproxy.server.config.ConfigNode;
import dev.llmproxy.server.config.SecretRef;
import io.lettuce.core.RedisURI;
import java.time.Duration;

/**
 * The shared quota store.
 *
 * @param uri {@code redis://[user:password@]host:port[/db]} or {@code rediss://...}; may carry a
 *     password, so {@link #toString()} leaves it out
 * @param timeout how long a call waits for the store before {@code onFailure} applies
 * @param onFailure what happens to a call when the store does not answer in time
 * @param keyPrefix prefix of every Redis key this proxy writes
 * @param slotLease how long a concurrency slot lives without being released: frees the slots of a
 *     replica that died with calls in flight
 * @param password the Redis password from the environment or a file (null: none, or in the URI)
 */
public record RedisStoreConfig(String uri, Duration timeout, FailureMode onFailure, String keyPrefix,
    Duration slotLease, SecretRef password) {

  public RedisStoreConfig(String uri, Duration timeout, FailureMode onFailure, String keyPrefix, Duration slotLease) {
    this(uri, timeout, onFailure, keyPrefix, slotLease, null);
  }

  public static final String DEFAULT_URI = "redis://127.0.0.1:6379";
  public static final Duration DEFAULT_TIMEOUT = Duration.ofMillis(50);
  public static final String DEFAULT_KEY_PREFIX = "llmproxy:quota:";
  public static final Duration DEFAULT_SLOT_LEASE = Duration.ofMinutes(10);

  public static RedisStoreConfig defaults() {
    return new RedisStoreConfig(DEFAULT_URI, DEFAULT_TIMEOUT, FailureMode.OPEN, DEFAULT_KEY_PREFIX,
        DEFAULT_SLOT_LEASE);
  }

  public RedisStoreConfig withUri(String redisUri) {
    return new RedisStoreConfig(redisUri, timeout, onFailure, keyPrefix, slotLease, password);
  }

  public RedisStoreConfig withFailure(FailureMode mode, Duration wait) {
    return new RedisStoreConfig(uri, wait, mode, keyPrefix, slotLease, password);
  }

  public RedisStoreConfig withKeyPrefix(String prefix) {
    return new RedisStoreConfig(uri, timeout, onFailure, prefix, slotLease, password);
  }

  public static RedisStoreConfig from(ConfigNode node) {
    String uri = node.string("uri", DEFAULT_URI);
    checkUri(node.pathOf("uri"), uri);
    Duration timeout = node.duration("timeout", DEFAULT_TIMEOUT);
    if (timeout.toMillis() < 1 || timeout.toMillis() > 10_000) {
      throw ConfigException.invalid(node.pathOf("timeout"), timeout.toMillis() + "ms",
          "a duration from 1ms to 10s");
    }
    FailureMode onFailure = node.enumValue("on_failure", FailureMode.OPEN, FailureMode.class);
    String prefix = node.string("key_prefix", DEFAULT_KEY_PREFIX);
    Duration lease = node.duration("slot_lease", DEFAULT_SLOT_LEASE);
    if (lease.toSeconds() < 1) {
      throw ConfigException.invalid(node.pathOf("slot_lease"), lease.toMillis() + "ms",
          "at least 1s, longer than the longest call");
    }
    SecretRef password = node.has("password") ? SecretRef.from(node.pathOf("password"), node.raw("password")) : null;
    node.rejectUnknownKeys();
    return new RedisStoreConfig(uri, timeout, onFailure, prefix, lease, password);
  }

  private static void checkUri(String path, String uri) {
    String expected = "redis://host:port or rediss://host:port";
    if (!uri.startsWith("redis://") && !uri.startsWith("rediss://")) {
      throw ConfigException.invalid(path, redact(uri), expected);
    }
    try {
      RedisURI.create(uri);
    } catch (IllegalArgumentException e) {
      throw ConfigException.invalid(path, redact(uri), expected);
    }
  }

  /** The URI without any user information, for messages and logs. */
  public static String redact(String uri) {
    int scheme = uri.indexOf("://");
    int at = uri.lastIndexOf('@');
    return scheme >= 0 && at > scheme ? uri.substring(0, scheme + 3) + "***@" + uri.substring(at + 1) : uri;
  }

  @Override
  public String toString() {
    return "RedisStoreConfig[uri=" + redact(uri) + ", timeout=" + timeout + ", onFailure=" + onFailure
        + ", keyPrefix=" + keyPrefix + ", slotLease=" + slotLease + "]";
  }
}
