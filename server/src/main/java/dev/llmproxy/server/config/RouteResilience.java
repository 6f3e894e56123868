package dev.llmproxy.server.config;

import static java.util.Objects.requireNonNull;

/**
 * How a route behaves when its upstreams misbehave: failover before the first chunk, stall
 * detection, ejection of failing upstreams, load shedding, and keepalive on its upstream
 * connections. Read from the route's own keys: {@code retry}, {@code timeouts},
 * {@code outlier_detection}, {@code max_in_flight}, {@code queue} and {@code keepalive}.
 */
public record RouteResilience(RetryPolicy retry, StallTimeouts timeouts, OutlierDetection outliers,
    LoadShedding shedding, UpstreamKeepalive keepalive) {

  public RouteResilience {
    requireNonNull(retry, "retry");
    requireNonNull(timeouts, "timeouts");
    requireNonNull(outliers, "outliers");
    requireNonNull(shedding, "shedding");
    requireNonNull(keepalive, "keepalive");
  }

  public static RouteResilience defaults() {
    return new RouteResilience(RetryPolicy.defaults(), StallTimeouts.defaults(), OutlierDetection.defaults(),
        LoadShedding.unlimited(), UpstreamKeepalive.defaults());
  }

  public RouteResilience withRetry(RetryPolicy newRetry) {
    return new RouteResilience(newRetry, timeouts, outliers, shedding, keepalive);
  }

  public RouteResilience withTimeouts(StallTimeouts newTimeouts) {
    return new RouteResilience(retry, newTimeouts, outliers, shedding, keepalive);
  }

  public RouteResilience withOutliers(OutlierDetection newOutliers) {
    return new RouteResilience(retry, timeouts, newOutliers, shedding, keepalive);
  }

  public RouteResilience withShedding(LoadShedding newShedding) {
    return new RouteResilience(retry, timeouts, outliers, newShedding, keepalive);
  }

  public RouteResilience withKeepalive(UpstreamKeepalive newKeepalive) {
    return new RouteResilience(retry, timeouts, outliers, shedding, newKeepalive);
  }

  /** Reads the resilience keys of one route's mapping (the caller rejects the route's unknown keys). */
  static RouteResilience from(ConfigNode route) {
    return new RouteResilience(
        RetryPolicy.from(route.child("retry")),
        StallTimeouts.from(route.child("timeouts")),
        OutlierDetection.from(route.child("outlier_detection")),
        LoadShedding.from(route),
        UpstreamKeepalive.from(route.child("keepalive")));
  }
}
