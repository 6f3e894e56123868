package dev.llmproxy.server.upstream;

import dev.llmproxy.server.config.OutlierDetection;
import io.grpc.LoadBalancer;
import io.grpc.LoadBalancerProvider;
import io.grpc.NameResolver;
import io.grpc.NameResolver.ConfigOrError;
import io.grpc.Status;
import io.grpc.util.GracefulSwitchLoadBalancer;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The {@code llmproxy_avoidance} policy: wraps any other policy so that its picks avoid ejected
 * and busy upstreams and, per call, those the call already failed on; it learns each call's end
 * itself (see {@link AvoidanceLoadBalancer}). Every route's service config puts it around the
 * route's policy:
 *
 * <pre>{@code
 * {"llmproxy_avoidance": {"consecutiveFailures": 5, "baseEjectionTimeMillis": 30000,
 *     "maxEjectionTimeMillis": 300000, "maxEjectionPercent": 50, "busyAvoidanceMillis": 1000,
 *     "childPolicy": [{"round_robin": {}}]}}
 * }</pre>
 *
 * The settings are a route's {@code outlier_detection} (missing ones take its defaults). The child
 * is built through {@link GracefulSwitchLoadBalancer}, as grpc's own wrapping policies do, so its
 * health checking and config work as they would unwrapped.
 *
 * <p>Registered through {@code META-INF/services/io.grpc.LoadBalancerProvider}.
 */
public final class AvoidanceLoadBalancerProvider extends LoadBalancerProvider {
  public static final String POLICY_NAME = "llmproxy_avoidance";

  /**
   * Where a channel's policy keeps its outlier state, so that the route reads the same state (a
   * name-resolver argument of the channel: {@code ManagedChannelBuilder.setNameResolverArg}).
   * Without it the policy keeps its state to itself.
   */
  public static final NameResolver.Args.Key<RouteOutliers> OUTLIERS = NameResolver.Args.Key.create("llmproxy-outliers");

  /** Children that read {@link PickFilter} in their pickers: they choose among the upstreams not avoided. */
  private static final Set<String> FILTER_READERS = Set.of(LeastOutstandingLoadBalancerProvider.POLICY_NAME,
      PeakEwmaLoadBalancerProvider.POLICY_NAME, PrefixAffinityLoadBalancerProvider.POLICY_NAME,
      LeastLoadedLoadBalancerProvider.POLICY_NAME);

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
    RouteOutliers outliers = null;
    try {
      outliers = helper.getNameResolverArgs().getArg(OUTLIERS);
    } catch (UnsupportedOperationException e) {
      // A helper without name-resolver arguments: the policy keeps its state to itself.
    }
    return new AvoidanceLoadBalancer(helper, outliers == null ? new RouteOutliers() : outliers, System::nanoTime);
  }

  @Override
  public ConfigOrError parseLoadBalancingPolicyConfig(Map<String, ?> rawConfig) {
    Map<String, ?> raw = rawConfig == null ? Map.of() : rawConfig;
    Object children = raw.get("childPolicy");
    if (!(children instanceof List<?> list) || list.isEmpty()
        || !list.stream().allMatch(c -> c instanceof Map<?, ?> m && m.size() == 1)) {
      return error("childPolicy: " + children
          + " (expected: a list of load-balancing configs, e.g. [{\"round_robin\": {}}])");
    }
    @SuppressWarnings("unchecked")
    List<Map<String, ?>> configs = (List<Map<String, ?>>) list;
    ConfigOrError child = GracefulSwitchLoadBalancer.parseLoadBalancingPolicyConfig(configs);
    if (child.getError() != null) {
      return ConfigOrError.fromError(child.getError().augmentDescription(POLICY_NAME + ": childPolicy"));
    }
    OutlierDetection settings;
    try {
      settings = settings(raw);
    } catch (RuntimeException e) {
      return error(e.getMessage());
    }
    // GracefulSwitchLoadBalancer takes the first policy of the list that is registered.
    String childName = null;
    for (Map<String, ?> config : configs) {
      String name = config.keySet().iterator().next();
      if (io.grpc.LoadBalancerRegistry.getDefaultRegistry().getProvider(name) != null) {
        childName = name;
        break;
      }
    }
    return ConfigOrError.fromConfig(new AvoidanceLoadBalancer.Config(settings, FILTER_READERS.contains(childName),
        child.getConfig()));
  }

  private static OutlierDetection settings(Map<String, ?> raw) {
    OutlierDetection d = OutlierDetection.defaults();
    return new OutlierDetection(
        (int) number(raw, "consecutiveFailures", d.consecutiveFailures()),
        Duration.ofMillis(number(raw, "baseEjectionTimeMillis", d.baseEjectionTime().toMillis())),
        Duration.ofMillis(number(raw, "maxEjectionTimeMillis", d.maxEjectionTime().toMillis())),
        (int) number(raw, "maxEjectionPercent", d.maxEjectionPercent()),
        Duration.ofMillis(number(raw, "busyAvoidanceMillis", d.busyAvoidance().toMillis())));
  }

  private static long number(Map<String, ?> raw, String key, long otherwise) {
    Object value = raw.get(key);
    if (value == null) {
      return otherwise;
    }
    if (!(value instanceof Number n) || n.doubleValue() != Math.rint(n.doubleValue()) || n.doubleValue() < 0) {
      throw new IllegalArgumentException(key + ": " + value + " (expected: a whole number, at least 0)");
    }
    return n.longValue();
  }

  private static ConfigOrError error(String message) {
    return ConfigOrError.fromError(Status.UNAVAILABLE.withDescription(POLICY_NAME + ": " + message));
  }

  /**
   * The load-balancing config that wraps {@code childPolicy} (one {@code {"name": {...}}} entry)
   * in this policy with {@code settings}, numbers as Doubles as grpc requires.
   */
  public static Map<String, ?> wrap(Map<String, ?> childPolicy, OutlierDetection settings) {
    Map<String, Object> config = new LinkedHashMap<>();
    config.put("consecutiveFailures", (double) settings.consecutiveFailures());
    config.put("baseEjectionTimeMillis", (double) settings.baseEjectionTime().toMillis());
    config.put("maxEjectionTimeMillis", (double) settings.maxEjectionTime().toMillis());
    config.put("maxEjectionPercent", (double) settings.maxEjectionPercent());
    config.put("busyAvoidanceMillis", (double) settings.busyAvoidance().toMillis());
    config.put("childPolicy", List.of(childPolicy));
    return Map.of(POLICY_NAME, java.util.Collections.unmodifiableMap(config));
  }
}
