package dev.llmproxy.server.upstream;

import static java.util.Objects.requireNonNull;

import dev.llmproxy.server.config.LbPolicy;
import dev.llmproxy.server.config.OutlierDetection;
import java.time.Duration;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.OptionalInt;
import java.util.stream.Collectors;

/**
 * How a channel to a pool of upstreams balances and health-checks, turned into the service config
 * map that {@link io.grpc.ManagedChannelBuilder#defaultServiceConfig(Map)} takes.
 *
 * <pre>{@code
 * ManagedChannelBuilder.forTarget(StaticNameResolverProvider.target(List.of("10.0.0.5:7000", ...)))
 *     .defaultServiceConfig(UpstreamServiceConfig.newBuilder()
 *         .policy(LbPolicy.LEAST_OUTSTANDING)
 *         .healthCheck(true)
 *         .build()
 *         .toServiceConfig())
 * }</pre>
 *
 * <p>Defaults: {@code least_outstanding} (calls in flight are the best load signal for LLM
 * backends) with health checking on. With health checking, a backend counts as ready only while
 * its {@code grpc.health.v1.Health/Watch} for {@value #HEALTH_CHECK_SERVICE_NAME} answers SERVING;
 * backends must run the health service. {@code pick_first} ignores health checking (gRFC A17).
 *
 * <p>Numbers in the produced map are {@link Double}s, as gRPC requires of JSON-like maps.
 * Immutable; build variants with {@link #toBuilder()}.
 */
public final class UpstreamServiceConfig {
  /** The service whose health upstreams report: the llmproxy API itself. */
  public static final String HEALTH_CHECK_SERVICE_NAME = "llmproxy.v1.LlmProxy";

  private final LbPolicy policy;
  private final OptionalInt choiceCount;
  private final boolean healthCheck;
  private final Duration ewmaDecay;
  private final int ewmaBatchSize;
  private final double loadFactor;
  private final Duration reportTtl;
  private final OutlierDetection avoidance;
  private final Duration oobPeriod;

  private UpstreamServiceConfig(Builder builder) {
    this.policy = builder.policy;
    this.choiceCount = builder.choiceCount;
    this.healthCheck = builder.healthCheck;
    this.ewmaDecay = builder.ewmaDecay;
    this.ewmaBatchSize = builder.ewmaBatchSize;
    this.loadFactor = builder.loadFactor;
    this.reportTtl = builder.reportTtl;
    this.avoidance = builder.avoidance;
    this.oobPeriod = builder.oobPeriod;
  }

  /** A builder with the defaults: least_outstanding, default choiceCount, health checking on. */
  public static Builder newBuilder() {
    return new Builder();
  }

  /** A builder holding this config's settings. */
  public Builder toBuilder() {
    Builder builder = new Builder();
    builder.policy = policy;
    builder.choiceCount = choiceCount;
    builder.healthCheck = healthCheck;
    builder.ewmaDecay = ewmaDecay;
    builder.ewmaBatchSize = ewmaBatchSize;
    builder.loadFactor = loadFactor;
    builder.reportTtl = reportTtl;
    builder.avoidance = avoidance;
    builder.oobPeriod = oobPeriod;
    return builder;
  }

  /** The load-balancing policy. */
  public LbPolicy policy() {
    return policy;
  }

  /** {@code choiceCount} of least_outstanding, if set; empty means the policy's default. */
  public OptionalInt choiceCount() {
    return choiceCount;
  }

  /** Whether backends are health-checked through {@code grpc.health.v1.Health/Watch}. */
  public boolean healthCheck() {
    return healthCheck;
  }

  /**
   * The service config for {@link io.grpc.ManagedChannelBuilder#defaultServiceConfig(Map)}, e.g.
   * {@code {"loadBalancingConfig": [{"least_outstanding": {"choiceCount": 2.0}}],
   * "healthCheckConfig": {"serviceName": "llmproxy.v1.LlmProxy"}}}; with {@link Builder#avoidance}
   * the policy is wrapped in {@code llmproxy_avoidance} ({@link AvoidanceLoadBalancerProvider}).
   * Unmodifiable.
   */
  public Map<String, ?> toServiceConfig() {
    Map<String, Object> config = new LinkedHashMap<>();
    Map<String, ?> chosen = Map.of(policy.policyName(), policyConfig());
    config.put("loadBalancingConfig",
        List.of(avoidance == null ? chosen : AvoidanceLoadBalancerProvider.wrap(chosen, avoidance)));
    if (healthCheck) {
      config.put("healthCheckConfig", Map.of("serviceName", HEALTH_CHECK_SERVICE_NAME));
    }
    // Per-method settings (timeouts, retryPolicy) and retryThrottling belong here, as
    // "methodConfig" and "retryThrottling" entries.
    return Collections.unmodifiableMap(config);
  }

  private Map<String, ?> policyConfig() {
    if (policy == LbPolicy.PEAK_EWMA) {
      return Map.of("decayMillis", ewmaDecay.toNanos() / 1e6, "batchSize", (double) ewmaBatchSize);
    }
    if (policy == LbPolicy.PREFIX_AFFINITY) {
      return Map.of("loadFactor", loadFactor);
    }
    if (policy == LbPolicy.LEAST_LOADED) {
      return oobPeriod == null ? Map.of("reportTtlMillis", reportTtl.toNanos() / 1e6)
          : Map.of("reportTtlMillis", reportTtl.toNanos() / 1e6, "enableOobLoadReport", true,
              "oobReportingPeriodMillis", oobPeriod.toNanos() / 1e6);
    }
    if (choiceCount.isPresent()) {
      return Map.of("choiceCount", (double) choiceCount.getAsInt());
    }
    return Map.of();
  }

  @Override
  public boolean equals(Object o) {
    if (this == o) {
      return true;
    }
    if (!(o instanceof UpstreamServiceConfig)) {
      return false;
    }
    UpstreamServiceConfig other = (UpstreamServiceConfig) o;
    return policy == other.policy && choiceCount.equals(other.choiceCount)
        && healthCheck == other.healthCheck && ewmaDecay.equals(other.ewmaDecay)
        && ewmaBatchSize == other.ewmaBatchSize && loadFactor == other.loadFactor
        && reportTtl.equals(other.reportTtl) && Objects.equals(avoidance, other.avoidance)
        && Objects.equals(oobPeriod, other.oobPeriod);
  }

  @Override
  public int hashCode() {
    return Objects.hash(policy, choiceCount, healthCheck, ewmaDecay, ewmaBatchSize, loadFactor, reportTtl, avoidance, oobPeriod);
  }

  @Override
  public String toString() {
    return "UpstreamServiceConfig{policy=" + policy.policyName()
        + (choiceCount.isPresent() ? ", choiceCount=" + choiceCount.getAsInt() : "")
        + ", healthCheck=" + healthCheck + (avoidance != null ? ", avoidance=" + avoidance : "") + "}";
  }

  /** Builds an {@link UpstreamServiceConfig}; setters fail fast on invalid values. */
  public static final class Builder {
    private LbPolicy policy = LbPolicy.LEAST_OUTSTANDING;
    private OptionalInt choiceCount = OptionalInt.empty();
    private boolean healthCheck = true;
    private Duration ewmaDecay = PeakEwmaLoadBalancerProvider.DEFAULT_DECAY;
    private int ewmaBatchSize = PeakEwmaLoadBalancerProvider.DEFAULT_BATCH_SIZE;
    private double loadFactor = PrefixAffinityLoadBalancerProvider.DEFAULT_LOAD_FACTOR;
    private Duration reportTtl = LeastLoadedLoadBalancerProvider.DEFAULT_REPORT_TTL;
    private OutlierDetection avoidance;
    private Duration oobPeriod;

    private Builder() {
    }

    /**
     * Wraps the policy in {@code llmproxy_avoidance} with these outlier settings: its picks avoid
     * ejected and busy upstreams and those a call already failed on. Null: no wrapper (the default).
     */
    public Builder avoidance(OutlierDetection settings) {
      this.avoidance = settings;
      return this;
    }

    /**
     * Makes least_loaded ask each upstream for out-of-band load reports every {@code period}
     * ({@code null}: no out-of-band reports, the default).
     */
    public Builder outOfBandReports(Duration period) {
      if (period != null && period.toMillis() < 1) {
        throw new IllegalArgumentException("outOfBandReports: " + period + " (expected: at least 1ms)");
      }
      this.oobPeriod = period;
      return this;
    }

    /** Sets how fast peak_ewma's latency averages forget. */
    public Builder ewmaDecay(Duration decay) {
      if (decay.toMillis() < 1) {
        throw new IllegalArgumentException("ewmaDecay: " + decay + " (expected: at least 1ms)");
      }
      this.ewmaDecay = decay;
      return this;
    }

    /** Sets how many calls peak_ewma takes an upstream to run at once (1: Finagle's cost). */
    public Builder ewmaBatchSize(int batchSize) {
      if (batchSize < 1 || batchSize > PeakEwmaLoadBalancerProvider.MAX_BATCH_SIZE) {
        throw new IllegalArgumentException("ewmaBatchSize: " + batchSize + " (expected: 1 to "
            + PeakEwmaLoadBalancerProvider.MAX_BATCH_SIZE + ")");
      }
      this.ewmaBatchSize = batchSize;
      return this;
    }

    /** Sets how long least_loaded counts an engine's load report after it arrived. */
    public Builder reportTtl(Duration ttl) {
      if (ttl.toMillis() < 1) {
        throw new IllegalArgumentException("reportTtl: " + ttl + " (expected: at least 1ms)");
      }
      this.reportTtl = ttl;
      return this;
    }

    /** Sets prefix_affinity's bound on an upstream's load, as a multiple of the mean (the 1+ε). */
    public Builder loadFactor(double factor) {
      if (!(factor > 1) || factor > PrefixAffinityLoadBalancerProvider.MAX_LOAD_FACTOR) {
        throw new IllegalArgumentException("loadFactor: " + factor + " (expected: above 1, at most "
            + PrefixAffinityLoadBalancerProvider.MAX_LOAD_FACTOR + ")");
      }
      this.loadFactor = factor;
      return this;
    }

    /** Sets the load-balancing policy. */
    public Builder policy(LbPolicy policy) {
      this.policy = requireNonNull(policy, "policy");
      return this;
    }

    /**
     * Sets the load-balancing policy by its service-config name.
     *
     * @throws IllegalArgumentException if the name is not {@code round_robin},
     *     {@code pick_first} or {@code least_outstanding}
     */
    public Builder policy(String policyName) {
      return policy(LbPolicy.forName(policyName));
    }

    /**
     * Sets how many endpoints least_outstanding samples per pick.
     *
     * @throws IllegalArgumentException if outside 2..10
     */
    public Builder choiceCount(int choiceCount) {
      if (choiceCount < LeastOutstandingLoadBalancerProvider.MIN_CHOICE_COUNT
          || choiceCount > LeastOutstandingLoadBalancerProvider.MAX_CHOICE_COUNT) {
        throw new IllegalArgumentException("choiceCount: " + choiceCount + " (expected: "
            + LeastOutstandingLoadBalancerProvider.MIN_CHOICE_COUNT + " to "
            + LeastOutstandingLoadBalancerProvider.MAX_CHOICE_COUNT + ")");
      }
      this.choiceCount = OptionalInt.of(choiceCount);
      return this;
    }

    /**
     * Turns client-side health checking of
     * {@value UpstreamServiceConfig#HEALTH_CHECK_SERVICE_NAME} on or off.
     */
    public Builder healthCheck(boolean healthCheck) {
      this.healthCheck = healthCheck;
      return this;
    }

    /**
     * Builds the config.
     *
     * @throws IllegalArgumentException if a choiceCount was set for a policy other than
     *     least_outstanding
     */
    public UpstreamServiceConfig build() {
      if (choiceCount.isPresent() && policy != LbPolicy.LEAST_OUTSTANDING) {
        throw new IllegalArgumentException("choiceCount: " + choiceCount.getAsInt()
            + " applies only to " + LbPolicy.LEAST_OUTSTANDING.policyName() + " (policy: "
            + policy.policyName() + ")");
      }
      return new UpstreamServiceConfig(this);
    }
  }
}
