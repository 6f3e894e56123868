package dev.llmproxy.server.config;

import static java.util.Objects.requireNonNull;

import java.time.Duration;

/**
 * How a route behaves when its upstreams misbehave: failover before the first chunk, stall
 * detection, ejection of failing upstreams, load shedding, keepalive on its upstream connections,
 * and how long a connection to an upstream may take to open. Read from the route's own keys:
 * {@code retry}, {@code timeouts}, {@code outlier_detection}, {@code max_in_flight}, {@code queue},
 * {@code keepalive} and {@code connect_timeout}.
 *
 * @param connectTimeout how long a TCP connection to an upstream may take to open before the
 *     attempt fails (and the upstream is tried again with backoff); without it an unreachable
 *     address holds calls for the operating system's limit (Netty's default: 30 s)
 */
public record RouteResilience(RetryPolicy retry, StallTimeouts timeouts, OutlierDetection outliers,
    LoadShedding shedding, UpstreamKeepalive keepalive, Duration connectTimeout, Duration dnsRefresh) {

  public static final Duration DEFAULT_CONNECT_TIMEOUT = Duration.ofSeconds(5);
  /**
   * How often a {@code dns:///} target is looked up again, so engines added to the fleet get calls
   * (and removed ones drain) without waiting for a connection to fail.
   */
  public static final Duration DEFAULT_DNS_REFRESH = Duration.ofSeconds(30);

  public RouteResilience {
    requireNonNull(retry, "retry");
    requireNonNull(timeouts, "timeouts");
    requireNonNull(outliers, "outliers");
    requireNonNull(shedding, "shedding");
    requireNonNull(keepalive, "keepalive");
    ConfigNode.checked("connect_timeout", connectTimeout, Duration.ofMillis(100), Duration.ofMinutes(5));
    ConfigNode.checked("dns_refresh", dnsRefresh, Duration.ofMillis(100), Duration.ofHours(1));
  }

  /** With the default DNS refresh interval. */
  public RouteResilience(RetryPolicy retry, StallTimeouts timeouts, OutlierDetection outliers,
      LoadShedding shedding, UpstreamKeepalive keepalive, Duration connectTimeout) {
    this(retry, timeouts, outliers, shedding, keepalive, connectTimeout, DEFAULT_DNS_REFRESH);
  }

  /** With the default connect timeout. */
  public RouteResilience(RetryPolicy retry, StallTimeouts timeouts, OutlierDetection outliers,
      LoadShedding shedding, UpstreamKeepalive keepalive) {
    this(retry, timeouts, outliers, shedding, keepalive, DEFAULT_CONNECT_TIMEOUT);
  }

  public static RouteResilience defaults() {
    return new RouteResilience(RetryPolicy.defaults(), StallTimeouts.defaults(), OutlierDetection.defaults(),
        LoadShedding.unlimited(), UpstreamKeepalive.defaults(), DEFAULT_CONNECT_TIMEOUT, DEFAULT_DNS_REFRESH);
  }

  public RouteResilience withRetry(RetryPolicy newRetry) {
    return new RouteResilience(newRetry, timeouts, outliers, shedding, keepalive, connectTimeout, dnsRefresh);
  }

  public RouteResilience withTimeouts(StallTimeouts newTimeouts) {
    return new RouteResilience(retry, newTimeouts, outliers, shedding, keepalive, connectTimeout, dnsRefresh);
  }

  public RouteResilience withOutliers(OutlierDetection newOutliers) {
    return new RouteResilience(retry, timeouts, newOutliers, shedding, keepalive, connectTimeout, dnsRefresh);
  }

  public RouteResilience withShedding(LoadShedding newShedding) {
    return new RouteResilience(retry, timeouts, outliers, newShedding, keepalive, connectTimeout, dnsRefresh);
  }

  public RouteResilience withKeepalive(UpstreamKeepalive newKeepalive) {
    return new RouteResilience(retry, timeouts, outliers, shedding, newKeepalive, connectTimeout, dnsRefresh);
  }

  public RouteResilience withConnectTimeout(Duration timeout) {
    return new RouteResilience(retry, timeouts, outliers, shedding, keepalive, timeout, dnsRefresh);
  }

  public RouteResilience withDnsRefresh(Duration interval) {
    return new RouteResilience(retry, timeouts, outliers, shedding, keepalive, connectTimeout, interval);
  }

  /** Reads the resilience keys of one route's mapping (the caller rejects the route's unknown keys). */
  static RouteResilience from(ConfigNode route) {
    return new RouteResilience(
        RetryPolicy.from(route.child("retry")),
        StallTimeouts.from(route.child("timeouts")),
        OutlierDetection.from(route.child("outlier_detection")),
        LoadShedding.from(route),
        UpstreamKeepalive.from(route.child("keepalive")),
        route.duration("connect_timeout", DEFAULT_CONNECT_TIMEOUT, Duration.ofMillis(100), Duration.ofMinutes(5)),
        route.duration("dns_refresh", DEFAULT_DNS_REFRESH, Duration.ofMillis(100), Duration.ofHours(1)));
  }
}
