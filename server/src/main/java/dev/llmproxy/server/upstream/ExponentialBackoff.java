package dev.llmproxy.server.upstream;

import static java.util.Objects.requireNonNull;

import java.time.Duration;
import java.util.random.RandomGenerator;

/**
 * Delays between attempts that grow by {@code multiplier} from {@code initial} up to {@code max},
 * each moved by up to ±20% at random so that many clients that failed together do not retry
 * together (grpc's connection backoff, gRFC A6's parameters). Not thread-safe: one owner.
 */
final class ExponentialBackoff {
  private static final double JITTER = 0.2;

  private final long initialNanos;
  private final long maxNanos;
  private final double multiplier;
  private final RandomGenerator random;
  private long nextNanos;

  ExponentialBackoff(Duration initial, Duration max, double multiplier, RandomGenerator random) {
    if (initial.isNegative() || initial.isZero() || max.compareTo(initial) < 0 || !(multiplier >= 1)) {
      throw new IllegalArgumentException("initial: " + initial + ", max: " + max + ", multiplier: " + multiplier
          + " (expected: 0 < initial <= max, multiplier >= 1)");
    }
    this.initialNanos = initial.toNanos();
    this.maxNanos = max.toNanos();
    this.multiplier = multiplier;
    this.random = requireNonNull(random, "random");
    this.nextNanos = initialNanos;
  }

  /** The delay before the next attempt; the one after is longer, up to the maximum. */
  long nextDelayNanos() {
    long base = nextNanos;
    nextNanos = (long) Math.min(maxNanos, base * multiplier);
    return (long) (base * (1 - JITTER + 2 * JITTER * random.nextDouble()));
  }

  /** Starts over from the initial delay (an attempt succeeded). */
  void reset() {
    nextNanos = initialNanos;
  }
}
