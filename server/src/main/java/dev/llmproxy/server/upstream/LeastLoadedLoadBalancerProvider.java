package dev.llmproxy.server.upstream;

import io.grpc.NameResolver.ConfigOrError;
import io.grpc.Status;
import java.time.Duration;
import java.util.Map;

/**
 * The {@code least_loaded} load-balancing policy: power of two choices on the load engines report
 * through ORCA (queue depth, then utilization such as KV-cache use), per call in trailers and, when
 * asked, out of band on an {@code OpenRcaService} stream per connection; falling back to calls in
 * flight where an engine has no fresh report (see {@code EngineLoad}, {@code LeastLoadedPicker} and
 * {@code OrcaOobStream}).
 *
 * <p>Service config: {@code {"loadBalancingConfig": [{"least_loaded": {"reportTtlMillis": 10000,
 * "enableOobLoadReport": true, "oobReportingPeriodMillis": 1000}}]}}, every key optional:
 * {@code reportTtlMillis} (10 s, from 1 ms to 1 h) is how long a report counts after it arrived;
 * {@code enableOobLoadReport} (false) opens the out-of-band streams, asking for a report every
 * {@code oobReportingPeriodMillis} (1 s, from 1 ms to 1 h; the names are weighted_round_robin's).
 * Health checking works as for {@link LeastOutstandingLoadBalancerProvider}.
 */
public final class LeastLoadedLoadBalancerProvider extends HealthCheckedPolicyProvider {
  public static final String POLICY_NAME = "least_loaded";
  public static final Duration DEFAULT_REPORT_TTL = Duration.ofSeconds(10);
  public static final Duration DEFAULT_OOB_PERIOD = Duration.ofSeconds(1);
  private static final double MAX_MILLIS = Duration.ofHours(1).toMillis();

  public LeastLoadedLoadBalancerProvider() {
    super(POLICY_NAME, LeastLoadedLoadBalancer::new);
  }

  @Override
  public ConfigOrError parseLoadBalancingPolicyConfig(Map<String, ?> rawConfig) {
    Map<String, ?> config = rawConfig == null ? Map.of() : rawConfig;
    Object ttl = config.get("reportTtlMillis");
    Object oob = config.get("enableOobLoadReport");
    Object period = config.get("oobReportingPeriodMillis");
    if (ttl != null && !isMillis(ttl)) {
      return error("reportTtlMillis: " + ttl + " (expected: a number of milliseconds from 1 to " + (long) MAX_MILLIS + ")");
    }
    if (oob != null && !(oob instanceof Boolean)) {
      return error("enableOobLoadReport: " + oob + " (expected: true or false)");
    }
    if (period != null && !isMillis(period)) {
      return error("oobReportingPeriodMillis: " + period + " (expected: a number of milliseconds from 1 to "
          + (long) MAX_MILLIS + ")");
    }
    return ConfigOrError.fromConfig(new Config(ttl == null ? DEFAULT_REPORT_TTL : millis(ttl),
        Boolean.TRUE.equals(oob) ? (period == null ? DEFAULT_OOB_PERIOD : millis(period)) : null));
  }

  private static boolean isMillis(Object raw) {
    return raw instanceof Number number && number.doubleValue() >= 1 && number.doubleValue() <= MAX_MILLIS;
  }

  private static Duration millis(Object raw) {
    return Duration.ofNanos((long) (((Number) raw).doubleValue() * 1e6));
  }

  private static ConfigOrError error(String message) {
    return ConfigOrError.fromError(Status.UNAVAILABLE.withDescription(POLICY_NAME + ": " + message));
  }

  /**
   * Parsed policy config.
   *
   * @param oobPeriod the out-of-band report interval asked for, or {@code null}: no out-of-band streams
   */
  record Config(Duration reportTtl, Duration oobPeriod) {
  }
}
