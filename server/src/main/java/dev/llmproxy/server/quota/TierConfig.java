package dev.llmproxy.server.quota;

import dev.llmproxy.server.config.ConfigException;
import dev.llmproxy.server.config.ConfigNode;
import java.time.Duration;

/** A named set of limits that keys (and anonymous callers) are held to; each key counts on its own. */
public record TierConfig(String name, QuotaLimits limits) {
  public static final Duration DEFAULT_WINDOW = Duration.ofMinutes(1);
  private static final Duration MAX_WINDOW = Duration.ofHours(24);

  /** Reads {@code {name, window, requests, tokens, max_concurrent}}; an absent limit is no limit. */
  public static TierConfig from(ConfigNode node) {
    String name = node.requiredString("name");
    Duration window = node.duration("window", DEFAULT_WINDOW);
    if (window.toMillis() < 1 || window.compareTo(MAX_WINDOW) > 0) {
      throw ConfigException.invalid(node.pathOf("window"), QuotaRejection.windowText(window),
          "a duration from 1ms to 24h");
    }
    long max = QuotaLimits.maxCapacity(window);
    long requests = limit(node, "requests", max, window);
    long tokens = limit(node, "tokens", max, window);
    int maxConcurrent = (int) limit(node, "max_concurrent", 1_000_000, window);
    node.rejectUnknownKeys();
    return new TierConfig(name, new QuotaLimits(window, requests, tokens, maxConcurrent));
  }

  private static long limit(ConfigNode node, String key, long max, Duration window) {
    Object raw = node.raw(key);
    if (raw == null) {
      return 0;
    }
    if (!(raw instanceof Integer || raw instanceof Long) || ((Number) raw).longValue() < 1
        || ((Number) raw).longValue() > max) {
      String why = key.equals("max_concurrent") ? "" : " for a window of " + QuotaRejection.windowText(window);
      throw ConfigException.invalid(node.pathOf(key), raw,
          "an integer from 1 to " + max + why + "; omit the setting for no limit");
    }
    return ((Number) raw).longValue();
  }
}
