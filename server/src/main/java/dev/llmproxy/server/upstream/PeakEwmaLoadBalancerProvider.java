package dev.llmproxy.server.upstream;

import io.grpc.NameResolver.ConfigOrError;
import io.grpc.Status;
import java.time.Duration;
import java.util.Map;

/**
 * The {@code peak_ewma} load-balancing policy: power of two choices on a peak-sensitive moving
 * average of time to first token and inter-token latency times calls in flight (see
 * {@code PeakEwma} and {@code PeakEwmaPicker}).
 *
 * <p>Service config: {@code {"loadBalancingConfig": [{"peak_ewma": {"decayMillis": 10000,
 * "batchSize": 1}}]}}; both optional. {@code decayMillis}: 10 s (Finagle's and Linkerd's default),
 * from 1 ms to 1 h. {@code batchSize}: how many calls an upstream runs at once, from 1 (Finagle's
 * cost, latency x (in flight + 1)) to {@value #MAX_BATCH_SIZE}; the cost is latency x (1 + in
 * flight / batchSize). Health checking works as for {@link LeastOutstandingLoadBalancerProvider}.
 */
public final class PeakEwmaLoadBalancerProvider extends HealthCheckedPolicyProvider {
  public static final String POLICY_NAME = "peak_ewma";
  public static final Duration DEFAULT_DECAY = Duration.ofSeconds(10);
  public static final int DEFAULT_BATCH_SIZE = 1;
  public static final int MAX_BATCH_SIZE = 4096;
  private static final double MAX_DECAY_MILLIS = Duration.ofHours(1).toMillis();

  public PeakEwmaLoadBalancerProvider() {
    super(POLICY_NAME, PeakEwmaLoadBalancer::new);
  }

  @Override
  public ConfigOrError parseLoadBalancingPolicyConfig(Map<String, ?> rawConfig) {
    Object rawDecay = rawConfig == null ? null : rawConfig.get("decayMillis");
    Duration decay = DEFAULT_DECAY;
    if (rawDecay != null) {
      if (!(rawDecay instanceof Number number) || !(number.doubleValue() >= 1)
          || number.doubleValue() > MAX_DECAY_MILLIS) {
        return ConfigOrError.fromError(Status.UNAVAILABLE.withDescription(POLICY_NAME + ": decayMillis: " + rawDecay
            + " (expected: a number of milliseconds from 1 to " + (long) MAX_DECAY_MILLIS + ")"));
      }
      decay = Duration.ofNanos((long) (number.doubleValue() * 1e6));
    }
    Object rawBatch = rawConfig == null ? null : rawConfig.get("batchSize");
    int batchSize = DEFAULT_BATCH_SIZE;
    if (rawBatch != null) {
      if (!(rawBatch instanceof Number number) || number.doubleValue() != Math.rint(number.doubleValue())
          || number.doubleValue() < 1 || number.doubleValue() > MAX_BATCH_SIZE) {
        return ConfigOrError.fromError(Status.UNAVAILABLE.withDescription(POLICY_NAME + ": batchSize: " + rawBatch
            + " (expected: a whole number from 1 to " + MAX_BATCH_SIZE + ")"));
      }
      batchSize = number.intValue();
    }
    return ConfigOrError.fromConfig(new Config(decay, batchSize));
  }

  /** Parsed policy config. */
  record Config(Duration decay, int batchSize) {
  }
}
