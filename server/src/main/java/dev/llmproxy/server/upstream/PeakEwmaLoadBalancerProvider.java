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
 * <p>Service config: {@code {"loadBalancingConfig": [{"peak_ewma": {"decayMillis": 10000}}]}};
 * {@code decayMillis} is optional (10 s, Finagle's and Linkerd's default), from 1 ms to 1 h. Health
 * checking works as for {@link LeastOutstandingLoadBalancerProvider}.
 */
public final class PeakEwmaLoadBalancerProvider extends HealthCheckedPolicyProvider {
  public static final String POLICY_NAME = "peak_ewma";
  public static final Duration DEFAULT_DECAY = Duration.ofSeconds(10);
  private static final double MAX_DECAY_MILLIS = Duration.ofHours(1).toMillis();

  public PeakEwmaLoadBalancerProvider() {
    super(POLICY_NAME, PeakEwmaLoadBalancer::new);
  }

  @Override
  public ConfigOrError parseLoadBalancingPolicyConfig(Map<String, ?> rawConfig) {
    Object raw = rawConfig == null ? null : rawConfig.get("decayMillis");
    if (raw == null) {
      return ConfigOrError.fromConfig(new Config(DEFAULT_DECAY));
    }
    if (!(raw instanceof Number number) || !(number.doubleValue() >= 1) || number.doubleValue() > MAX_DECAY_MILLIS) {
      return ConfigOrError.fromError(Status.UNAVAILABLE.withDescription(POLICY_NAME + ": decayMillis: " + raw
          + " (expected: a number of milliseconds from 1 to " + (long) MAX_DECAY_MILLIS + ")"));
    }
    return ConfigOrError.fromConfig(new Config(Duration.ofNanos((long) (number.doubleValue() * 1e6))));
  }

  /** Parsed policy config. */
  record Config(Duration decay) {
  }
}
