package dev.llmproxy.client;

import static java.util.Objects.requireNonNull;

import java.time.Duration;

/**
 * How the client retries calls that fail with {@code UNAVAILABLE} before any response arrived (the
 * proxy could not be reached, or had no healthy upstream). It becomes the channel's gRPC service
 * config, so gRPC does the retrying: attempt {@code n+1} waits a random time up to
 * {@code min(initialBackoff * backoffMultiplier^(n-1), maxBackoff)}, unless the proxy's
 * {@code grpc-retry-pushback-ms} trailer names the wait (or, negative, asks for no retry).
 *
 * <p>Other failures are not retried: a quota rejection is reported at once as a
 * {@link QuotaExceededException} with its retry-after, and a stream that has sent its first chunk is
 * never replayed.
 *
 * @param maxAttempts attempts per call including the first, 1 (no retry) to 5 (gRPC's limit)
 * @param initialBackoff the longest wait before the first retry; {@code > 0}
 * @param maxBackoff the cap on any wait; {@code >= initialBackoff}
 * @param backoffMultiplier how much the cap of the wait grows per retry; {@code > 0}
 */
public record RetryPolicy(int maxAttempts, Duration initialBackoff, Duration maxBackoff, double backoffMultiplier) {
  /** gRPC's cap on attempts per call. */
  public static final int MAX_ATTEMPTS_LIMIT = 5;

  /**
   * Validates every field, with messages like {@code maxAttempts: 9 (expected: 1 to 5)}.
   *
   * @param maxAttempts attempts per call including the first
   * @param initialBackoff the longest wait before the first retry
   * @param maxBackoff the cap on any wait
   * @param backoffMultiplier how much the cap of the wait grows per retry
   */
  public RetryPolicy {
    if (maxAttempts < 1 || maxAttempts > MAX_ATTEMPTS_LIMIT) {
      throw new IllegalArgumentException("maxAttempts: " + maxAttempts + " (expected: 1 to " + MAX_ATTEMPTS_LIMIT
          + ", 1 for no retries)");
    }
    requireNonNull(initialBackoff, "initialBackoff");
    requireNonNull(maxBackoff, "maxBackoff");
    if (initialBackoff.isNegative() || initialBackoff.isZero()) {
      throw new IllegalArgumentException("initialBackoff: " + initialBackoff + " (expected: > 0)");
    }
    if (maxBackoff.compareTo(initialBackoff) < 0) {
      throw new IllegalArgumentException("maxBackoff: " + maxBackoff + " (expected: >= initialBackoff "
          + initialBackoff + ")");
    }
    if (!(backoffMultiplier > 0) || Double.isInfinite(backoffMultiplier)) {
      throw new IllegalArgumentException("backoffMultiplier: " + backoffMultiplier + " (expected: > 0)");
    }
  }

  /**
   * 4 attempts; waits of up to 200 ms, 400 ms and 800 ms; pushback honoured.
   *
   * @return the default policy
   */
  public static RetryPolicy defaults() {
    return new RetryPolicy(4, Duration.ofMillis(200), Duration.ofSeconds(2), 2.0);
  }

  /**
   * One attempt per call: every failure reaches the caller at once.
   *
   * @return a policy without retries
   */
  public static RetryPolicy disabled() {
    return new RetryPolicy(1, Duration.ofMillis(200), Duration.ofSeconds(2), 2.0);
  }

  /**
   * A copy with another number of attempts.
   *
   * @param attempts attempts per call including the first, 1 to 5
   * @return the copy
   */
  public RetryPolicy withMaxAttempts(int attempts) {
    return new RetryPolicy(attempts, initialBackoff, maxBackoff, backoffMultiplier);
  }

  /**
   * A copy with other backoff bounds.
   *
   * @param initial the longest wait before the first retry
   * @param max the cap on any wait
   * @return the copy
   */
  public RetryPolicy withBackoff(Duration initial, Duration max) {
    return new RetryPolicy(maxAttempts, initial, max, backoffMultiplier);
  }
}
