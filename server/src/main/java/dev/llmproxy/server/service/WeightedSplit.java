package dev.llmproxy.server.service;

import dev.llmproxy.server.config.ModelSplit;
import dev.llmproxy.server.upstream.StableHash;
import java.util.Objects;
import java.util.function.LongUnaryOperator;

/**
 * Chooses the route of a call to a split model: a point in [0, total weight) falls into one route's
 * share. The point is random per call, or, with {@code sticky: api_key}, a hash of the split's model
 * and the caller's key id, the same in every replica and after every restart, so a caller stays on
 * one route as long as the weights stay (an anonymous caller has no id: its calls are random).
 */
final class WeightedSplit {
  private final ModelSplit split;
  private final long[] upperBounds;
  private final LongUnaryOperator randomBelow;

  /** @param randomBelow a random number in [0, bound) for a bound; injected for tests */
  WeightedSplit(ModelSplit split, LongUnaryOperator randomBelow) {
    this.split = Objects.requireNonNull(split, "split");
    this.randomBelow = Objects.requireNonNull(randomBelow, "randomBelow");
    upperBounds = new long[split.routes().size()];
    long total = 0;
    for (int i = 0; i < upperBounds.length; i++) {
      total += split.routes().get(i).weight();
      upperBounds[i] = total;
    }
  }

  /** The name of the route for a call from {@code keyId} ({@code null}: anonymous). */
  String pick(String keyId) {
    long total = upperBounds[upperBounds.length - 1];
    long point = split.sticky() == ModelSplit.Sticky.API_KEY && keyId != null
        ? (long) ((StableHash.of(split.model() + '\u0000' + keyId) >>> 11) * 0x1.0p-53 * total) // top 53 bits
        : randomBelow.applyAsLong(total);
    for (int i = 0; i < upperBounds.length; i++) {
      if (point < upperBounds[i]) {
        return split.routes().get(i).route();
      }
    }
    throw new IllegalStateException("point " + point + " outside [0, " + total + ")");
  }
}
