package dev.llmproxy.server.upstream;

import io.grpc.LoadBalancer;
import io.grpc.LoadBalancerProvider;
import io.grpc.NameResolver.ConfigOrError;
import io.grpc.Status;
import io.grpc.protobuf.services.HealthCheckingLoadBalancerUtil;
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
public final class LeastLoadedLoadBalancerProvider extends LoadBalancerProvider {
  public static final String POLICY_NAME = "least_loaded";
  public static final Duration DEFAULT_REPORT_TTL = Duration.ofSeconds(10);
  private static final double MAX_TTL_MILLIS = Duration.ofHours(1).toMillis();

  private static final LoadBalancer.Factory UNCHECKED_FACTORY = new LoadBalancer.Factory() {
    @Override
    public LoadBalancer newLoadBalancer(LoadBalancer.Helper helper) {
      return new LeastLoadedLoadBalancer(helper);
    }
  };

  @Override
  public boolean isAvailable() {
    return true;
  }

  @Override
  public int getPriority() {
    return 5;
  }

  @Override
  public String getPolicyName() {
    return POLICY_NAME;
  }

  @Override
  public LoadBalancer newLoadBalancer(LoadBalancer.Helper helper) {
    return HealthCheckingLoadBalancerUtil.newHealthCheckingLoadBalancer(UNCHECKED_FACTORY, helper);
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
