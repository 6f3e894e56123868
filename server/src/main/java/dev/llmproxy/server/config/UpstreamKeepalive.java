package dev.llmproxy.server.config;

import java.time.Duration;

/**
 * HTTP/2 keepalive pings on a route's upstream connections, so a dead peer or a silently dropped
 * connection is found without waiting for TCP. A grpc-java upstream accepts a ping every 5 minutes
 * by default and answers faster pings with GOAWAY {@code too_many_pings}, so the default
 * {@code time} is 5 minutes; lower it only for upstreams that permit it (the simulated backend
 * permits 10 s). Pings are sent only while calls are open (health-check watches count).
 *
 * @param time ping after the connection was quiet this long; 0 turns pings off
 * @param timeout close the connection if a ping is not answered within this
 */
public record UpstreamKeepalive(Duration time, Duration timeout) {
  /** grpc-java clients send pings no more often than this. */
  public static final Duration MIN_TIME = Duration.ofSeconds(10);

  public UpstreamKeepalive {
    if (!time.isZero()) {
      ConfigNode.checked("keepalive.time", time, MIN_TIME, Duration.ofDays(1));
    }
    ConfigNode.checked("keepalive.timeout", timeout, Duration.ofSeconds(1), Duration.ofHours(1));
  }

  public static UpstreamKeepalive defaults() {
    return new UpstreamKeepalive(Duration.ofMinutes(5), Duration.ofSeconds(20));
  }

  public boolean enabled() {
    return !time.isZero();
  }

  static UpstreamKeepalive from(ConfigNode node) {
    UpstreamKeepalive d = defaults();
    Duration time = node.duration("time", d.time());
    if (!time.isZero() && (time.compareTo(MIN_TIME) < 0 || time.compareTo(Duration.ofDays(1)) > 0)) {
      throw ConfigException.invalid(node.pathOf("time"), ConfigNode.format(time),
          "0 (off), or from 10s (the least a grpc-java client sends) to 24h");
    }
    Duration timeout = node.duration("timeout", d.timeout(), Duration.ofSeconds(1), Duration.ofHours(1));
    node.rejectUnknownKeys();
    return new UpstreamKeepalive(time, timeout);
  }
}
