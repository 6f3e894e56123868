package dev.llmproxy.server.upstream;

import io.grpc.LoadBalancer;
import io.grpc.LoadBalancerProvider;
import io.grpc.NameResolver.ConfigOrError;
import io.grpc.Status;
import io.grpc.util.GracefulSwitchLoadBalancer;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The {@code llmproxy_pick_filter} policy: wraps another policy so that its picks honour the
 * {@link PickFilter} a call carries (ejected and busy upstreams, and those that already failed the
 * call), for policies that do not know about it, such as grpc's {@code round_robin}.
 * {@code least_outstanding}, {@code peak_ewma}, {@code prefix_affinity} and {@code least_loaded} honour the filter
 * themselves and need no wrapper.
 *
 * <p>Service config: {@code {"llmproxy_pick_filter": {"childPolicy": [{"round_robin": {}}]}}};
 * {@link #wrap} turns a service config's policy into that. The child is built through
 * {@link GracefulSwitchLoadBalancer}, as grpc's own wrapping policies do, so its health checking
 * and config work as they would unwrapped.
 *
 * <p>Registered through {@code META-INF/services/io.grpc.LoadBalancerProvider}.
 */
public final class PickFilterLoadBalancerProvider extends LoadBalancerProvider {
  public static final String POLICY_NAME = "llmproxy_pick_filter";

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
    return new PickFilterLoadBalancer(helper);
  }

  @Override
  public ConfigOrError parseLoadBalancingPolicyConfig(Map<String, ?> rawConfig) {
    Object children = rawConfig == null ? null : rawConfig.get("childPolicy");
    if (!(children instanceof List<?> list) || list.isEmpty()
        || !list.stream().allMatch(c -> c instanceof Map)) {
      return ConfigOrError.fromError(Status.UNAVAILABLE.withDescription(POLICY_NAME + ": childPolicy: "
          + children + " (expected: a list of load-balancing configs, e.g. [{\"round_robin\": {}}])"));
    }
    @SuppressWarnings("unchecked")
    List<Map<String, ?>> configs = (List<Map<String, ?>>) list;
    ConfigOrError child = GracefulSwitchLoadBalancer.parseLoadBalancingPolicyConfig(configs);
    if (child.getError() != null) {
      return ConfigOrError.fromError(child.getError().augmentDescription(POLICY_NAME + ": childPolicy"));
    }
    return ConfigOrError.fromConfig(new PickFilterLoadBalancer.Config(child.getConfig()));
  }

  /** A service config whose load-balancing policy is wrapped in this one. */
  public static Map<String, ?> wrap(Map<String, ?> serviceConfig) {
    Map<String, Object> wrapped = new LinkedHashMap<>(serviceConfig);
    Object policies = serviceConfig.get("loadBalancingConfig");
    wrapped.put("loadBalancingConfig", List.of(Map.of(POLICY_NAME,
        Map.of("childPolicy", policies == null ? List.of() : new ArrayList<>((List<?>) policies)))));
    return wrapped;
  }
}
