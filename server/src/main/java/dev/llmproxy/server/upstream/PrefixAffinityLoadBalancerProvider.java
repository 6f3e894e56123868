package dev.llmproxy.server.upstream;

import io.grpc.NameResolver.ConfigOrError;
import io.grpc.Status;
import java.util.Map;

/**
 * The {@code prefix_affinity} load-balancing policy: consistent hashing of each call's
 * {@link AffinityKey} with bounded loads, falling back to least outstanding (see
 * {@code PrefixAffinityPicker}).
 *
 * <p>Service config: {@code {"loadBalancingConfig": [{"prefix_affinity": {"loadFactor": 1.25}}]}}.
 * {@code loadFactor} (the 1+ε of bounded loads) is optional, {@value #DEFAULT_LOAD_FACTOR} by
 * default, above 1 and at most {@value #MAX_LOAD_FACTOR}. Health checking works as for
 * {@link LeastOutstandingLoadBalancerProvider}.
 */
public final class PrefixAffinityLoadBalancerProvider extends HealthCheckedPolicyProvider {
  public static final String POLICY_NAME = "prefix_affinity";
  public static final double DEFAULT_LOAD_FACTOR = 1.25;
  public static final double MAX_LOAD_FACTOR = 10;

  public PrefixAffinityLoadBalancerProvider() {
    super(POLICY_NAME, PrefixAffinityLoadBalancer::new);
  }

  @Override
  public ConfigOrError parseLoadBalancingPolicyConfig(Map<String, ?> rawConfig) {
    Object raw = rawConfig == null ? null : rawConfig.get("loadFactor");
    if (raw == null) {
      return ConfigOrError.fromConfig(new Config(DEFAULT_LOAD_FACTOR));
    }
    if (!(raw instanceof Number number) || !(number.doubleValue() > 1) || number.doubleValue() > MAX_LOAD_FACTOR) {
      return ConfigOrError.fromError(Status.UNAVAILABLE.withDescription(POLICY_NAME + ": loadFactor: " + raw
          + " (expected: a number above 1, at most " + MAX_LOAD_FACTOR + ")"));
    }
    return ConfigOrError.fromConfig(new Config(number.doubleValue()));
  }

  /** Parsed policy config. */
  record Config(double loadFactor) {
  }
}
