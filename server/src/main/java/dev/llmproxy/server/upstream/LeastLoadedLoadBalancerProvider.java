package dev.llmproxy.server.upstream;

import io.grpc.NameResolver.ConfigOrError;
import io.grpc.Status;
import java.time.Duration;
import java.util.Map;

/**
 * The {@code least_loaded} load-balancing policy: power of two choices on the load engines report
 * through ORCA per-call reports (queue depth, then utilization such as KV-cache use), falling back
 * to calls in flight where an engine has no fresh report (see {@code EngineLoad} and
 * {@code LeastLoadedPicker}).
 *
 * <p>Service config: {@code {"loadBalancingConfig": [{"least_loaded": {"reportTtlMillis": 10000}}]}};
 * {@code reportTtlMillis} is optional (10 s), from 1 ms to 1 h: how long a report counts after it
 * arrived. Health checking works as for {@link LeastOutstandingLoadBalancerProvider}.
 */
public final class LeastLoadedLoadBalancerProvider extends HealthCheckedPolicyProvider {
  public static final String POLICY_NAME = "least_loaded";
  public static final Duration DEFAULT_REPORT_TTL = Duration.ofSeconds(10);
  private static final double MAX_TTL_MILLIS = Duration.ofHours(1).toMillis();

  public LeastLoadedLoadBalancerProvider() {
    super(POLICY_NAME, LeastLoadedLoadBalancer::new);
  }

  @Override
  public ConfigOrError parseLoadBalancingPolicyConfig(Map<String, ?> rawConfig) {
    Object raw = rawConfig == null ? null : rawConfig.get("reportTtlMillis");
    if (raw == null) {
      return ConfigOrError.fromConfig(new Config(DEFAULT_REPORT_TTL));
    }
    if (!(raw instanceof Number number) || !(number.doubleValue() >= 1) || number.doubleValue() > MAX_TTL_MILLIS) {
      return ConfigOrError.fromError(Status.UNAVAILABLE.withDescription(POLICY_NAME + ": reportTtlMillis: " + raw
          + " (expected: a number of milliseconds from 1 to " + (long) MAX_TTL_MILLIS + ")"));
    }
    return ConfigOrError.fromConfig(new Config(Duration.ofNanos((long) (number.doubleValue() * 1e6))));
  }

  /** Parsed policy config. */
  record Config(Duration reportTtl) {
  }
}
