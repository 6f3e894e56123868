package dev.llmproxy.server.upstream;

import static java.util.Objects.requireNonNull;

import io.grpc.LoadBalancer;
import io.grpc.LoadBalancerProvider;
import io.grpc.protobuf.services.HealthCheckingLoadBalancerUtil;
import java.util.function.Function;

/**
 * What the providers of llmproxy's own policies share: always available, priority 5, and the
 * balancer built through grpc-services' {@link HealthCheckingLoadBalancerUtil}, so that with a
 * {@code healthCheckConfig} an endpoint counts as READY only while its health service says SERVING
 * (without one, connection states pass through unchanged). Subclasses name the policy, make its
 * balancer and parse its config.
 */
abstract class HealthCheckedPolicyProvider extends LoadBalancerProvider {
  private final String policyName;
  private final LoadBalancer.Factory unchecked;

  HealthCheckedPolicyProvider(String policyName, Function<LoadBalancer.Helper, LoadBalancer> newBalancer) {
    this.policyName = requireNonNull(policyName, "policyName");
    requireNonNull(newBalancer, "newBalancer");
    this.unchecked = new LoadBalancer.Factory() {
      @Override
      public LoadBalancer newLoadBalancer(LoadBalancer.Helper helper) {
        return newBalancer.apply(helper);
      }
    };
  }

  @Override
  public final boolean isAvailable() {
    return true;
  }

  @Override
  public final int getPriority() {
    return 5;
  }

  @Override
  public final String getPolicyName() {
    return policyName;
  }

  @Override
  public final LoadBalancer newLoadBalancer(LoadBalancer.Helper helper) {
    return HealthCheckingLoadBalancerUtil.newHealthCheckingLoadBalancer(unchecked, helper);
  }
}
