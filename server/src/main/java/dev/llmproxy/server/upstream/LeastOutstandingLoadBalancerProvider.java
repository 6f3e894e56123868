package dev.llmproxy.server.upstream;

import io.grpc.NameResolver.ConfigOrError;
import io.grpc.Status;
import java.util.Map;

/**
 * The {@code least_outstanding} load-balancing policy: power of two choices over the calls in
 * flight to each READY endpoint (see {@code LeastOutstandingPicker} for the algorithm and why).
 *
 * <p>Service config: {@code {"loadBalancingConfig": [{"least_outstanding": {"choiceCount": 2}}]}}.
 * {@code choiceCount} is optional, {@value #DEFAULT_CHOICE_COUNT} by default, and must be an
 * integer from {@value #MIN_CHOICE_COUNT} to {@value #MAX_CHOICE_COUNT}. Unknown keys are ignored,
 * as gRPC does for forward compatibility.
 *
 * <p>Client-side health checking ({@code "healthCheckConfig": {"serviceName": ...}} in the same
 * service config) works as for round_robin: the balancer is built through grpc-services'
 * {@link io.grpc.protobuf.services.HealthCheckingLoadBalancerUtil}, which watches {@code grpc.health.v1.Health/Watch} on
 * every connection and reports an endpoint READY only while it answers SERVING. Without a
 * {@code healthCheckConfig} that wrapper passes connection states through unchanged.
 *
 * <p>Registered through {@code META-INF/services/io.grpc.LoadBalancerProvider}.
 */
public final class LeastOutstandingLoadBalancerProvider extends HealthCheckedPolicyProvider {
  /** The name to use in a service config's {@code loadBalancingConfig}. */
  public static final String POLICY_NAME = "least_outstanding";
  /** Endpoints sampled per pick unless configured: the "two" of power of two choices. */
  public static final int DEFAULT_CHOICE_COUNT = 2;
  /** The smallest {@code choiceCount}: with one choice the policy would be plain random. */
  public static final int MIN_CHOICE_COUNT = 2;
  /** The largest {@code choiceCount}, as in gRPC's least_request (gRFC A48). */
  public static final int MAX_CHOICE_COUNT = 10;

  private static final String CHOICE_COUNT = "choiceCount";

  public LeastOutstandingLoadBalancerProvider() {
    super(POLICY_NAME, LeastOutstandingLoadBalancer::new);
  }

  /**
   * Parses {@code {"choiceCount": n}}. Errors are UNAVAILABLE, as gRPC's own providers report
   * them: a bad service config is an operator's mistake, and a call failing because of it must not
   * look like the caller sent a bad request.
   */
  @Override
  public ConfigOrError parseLoadBalancingPolicyConfig(Map<String, ?> rawConfig) {
    Object raw = rawConfig == null ? null : rawConfig.get(CHOICE_COUNT);
    if (raw == null) {
      return ConfigOrError.fromConfig(new Config(DEFAULT_CHOICE_COUNT));
    }
    if (!(raw instanceof Number) || !isIntegral(((Number) raw).doubleValue())) {
      return invalid(String.valueOf(raw));
    }
    double value = ((Number) raw).doubleValue();
    if (value < MIN_CHOICE_COUNT || value > MAX_CHOICE_COUNT) {
      return invalid(String.valueOf((long) value));
    }
    return ConfigOrError.fromConfig(new Config((int) value));
  }

  private static boolean isIntegral(double value) {
    return !Double.isInfinite(value) && value == Math.rint(value);
  }

  private static ConfigOrError invalid(String value) {
    return ConfigOrError.fromError(Status.UNAVAILABLE.withDescription(POLICY_NAME + ": "
        + CHOICE_COUNT + ": " + value + " (expected: an integer from " + MIN_CHOICE_COUNT + " to "
        + MAX_CHOICE_COUNT + ")"));
  }

  /** Parsed policy config. */
  record Config(int choiceCount) {
  }
}
