package dev.llmproxy.server.quota;

import java.time.Duration;
import java.util.Objects;

/**
 * What one caller may use: requests and tokens per window (token buckets that refill their whole
 * capacity once per window, smoothly), and calls in flight at once. Zero means no limit.
 *
 * @param window the time in which an empty bucket refills completely
 * @param requests calls admitted per window (the bucket's capacity); 0: unlimited
 * @param tokens prompt plus completion tokens per window; 0: unlimited
 * @param maxConcurrent calls in flight at once; 0: unlimited
 */
public record QuotaLimits(Duration window, long requests, long tokens, int maxConcurrent) {
  /**
   * The largest bucket capacity times window length in milliseconds: the Redis store keeps levels
   * in token-milliseconds as Lua doubles, which are exact integers only up to 2^53.
   */
  public static final long MAX_CAPACITY_MILLIS = 1L << 53;

  public static final QuotaLimits UNLIMITED = new QuotaLimits(Duration.ofMinutes(1), 0, 0, 0);

  public QuotaLimits {
    Objects.requireNonNull(window, "window");
    if (window.toMillis() < 1) {
      throw new IllegalArgumentException("window: " + window + " (expected: at least 1ms)");
    }
    if (requests < 0 || tokens < 0 || maxConcurrent < 0) {
      throw new IllegalArgumentException("limits: requests " + requests + ", tokens " + tokens
          + ", max_concurrent " + maxConcurrent + " (expected: >= 0, 0 for no limit)");
    }
    if (requests > maxCapacity(window) || tokens > maxCapacity(window)) {
      throw new IllegalArgumentException("limits: requests " + requests + ", tokens " + tokens
          + " (expected: at most " + maxCapacity(window) + " for a window of " + window + ")");
    }
  }

  /**
   * The largest capacity a bucket with this window can have: exact in Redis (see {@link
   * #MAX_CAPACITY_MILLIS}), and a refill of at most one token per nanosecond, Bucket4j's limit.
   */
  public static long maxCapacity(Duration window) {
    return Math.min(MAX_CAPACITY_MILLIS / Math.max(1, window.toMillis()), window.toNanos());
  }

  public boolean limitsRequests() {
    return requests > 0;
  }

  public boolean limitsTokens() {
    return tokens > 0;
  }

  public boolean limitsConcurrency() {
    return maxConcurrent > 0;
  }

  public boolean isUnlimited() {
    return requests == 0 && tokens == 0 && maxConcurrent == 0;
  }
}
