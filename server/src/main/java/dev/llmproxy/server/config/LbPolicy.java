package dev.llmproxy.server.config;

import java.util.Locale;

/** The client-side load-balancing policy of a route's upstream channel. */
public enum LbPolicy {
  /** Power of two choices over the calls in flight on each upstream (our own policy). */
  LEAST_OUTSTANDING,
  /** grpc-java's round_robin over READY upstreams. */
  ROUND_ROBIN,
  /** grpc-java's pick_first: one upstream at a time, the next on failure. No health checking. */
  PICK_FIRST,
  /** Power of two choices on a peak-sensitive average of TTFT and inter-token latency x calls in flight. */
  PEAK_EWMA,
  /** Consistent hashing of the prompt's prefix with bounded loads, so engines reuse their KV cache. */
  PREFIX_AFFINITY,
  /** Power of two choices on the queue depth and utilization that engines report (ORCA). */
  LEAST_LOADED;

  /**
   * Whether the policy weighs upstreams by the load their engines report (ORCA), so that the proxy
   * should ask OpenAI-compatible engines for it ({@code endpoint-load-metrics-format}).
   */
  public boolean usesEngineLoad() {
    return this == LEAST_LOADED;
  }

  /** The policy name in gRPC service config, e.g. {@code round_robin}. */
  public String policyName() {
    return name().toLowerCase(Locale.ROOT);
  }

  /**
   * The policy with this service-config name.
   *
   * @throws IllegalArgumentException naming the accepted names if there is none
   */
  public static LbPolicy forName(String policyName) {
    for (LbPolicy policy : values()) {
      if (policy.policyName().equals(policyName)) {
        return policy;
      }
    }
    throw new IllegalArgumentException("policy: " + policyName + " (expected: one of "
        + java.util.Arrays.stream(values()).map(LbPolicy::policyName).collect(java.util.stream.Collectors.joining(", "))
        + ")");
  }
}
