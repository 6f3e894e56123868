package dev.llmproxy.server.config;

import java.time.Duration;

/**
 * The listener's side of resilience: graceful drain on shutdown and the HTTP/2 keepalive and
 * connection-age settings toward clients.
 *
 * @param shutdownGrace on SIGTERM, how long calls in flight may take to finish before the rest are
 *     cancelled
 * @param keepaliveTime ping a client connection that was quiet this long, to find dead clients
 *     (and stop the generations they no longer read); 0 turns pings off
 * @param keepaliveTimeout close the connection if a ping is not answered within this
 * @param permitKeepaliveTime the most often a client may ping; faster pings get GOAWAY
 *     {@code too_many_pings}. 10 s admits the fastest a grpc-java client sends.
 * @param permitKeepaliveWithoutCalls whether clients may ping connections with no call open
 * @param maxConnectionAge close client connections after this long (GOAWAY, so clients reconnect,
 *     possibly to another replica); 0 for never
 * @param maxConnectionAgeGrace how long calls on an aged connection may still run; 0 for no limit
 */
public record ServerResilience(Duration shutdownGrace, Duration keepaliveTime, Duration keepaliveTimeout,
    Duration permitKeepaliveTime, boolean permitKeepaliveWithoutCalls, Duration maxConnectionAge,
    Duration maxConnectionAgeGrace) {

  static final Duration MAX = Duration.ofDays(1);

  public ServerResilience {
    ConfigNode.checked("server.shutdown_grace", shutdownGrace, Duration.ZERO, Duration.ofHours(1));
    ConfigNode.checked("server.keepalive.time", keepaliveTime, Duration.ZERO, MAX);
    ConfigNode.checked("server.keepalive.timeout", keepaliveTimeout, Duration.ofSeconds(1), MAX);
    ConfigNode.checked("server.keepalive.permit_time", permitKeepaliveTime, Duration.ZERO, MAX);
    ConfigNode.checked("server.max_connection_age", maxConnectionAge, Duration.ZERO, MAX);
    ConfigNode.checked("server.max_connection_age_grace", maxConnectionAgeGrace, Duration.ZERO, MAX);
    if (!maxConnectionAge.isZero() && maxConnectionAge.compareTo(Duration.ofSeconds(1)) < 0) {
      throw ConfigException.invalid("server.max_connection_age", ConfigNode.format(maxConnectionAge),
          "0 (never) or at least 1s");
    }
  }

  public static ServerResilience defaults() {
    return new ServerResilience(Duration.ofSeconds(30), Duration.ofMinutes(1), Duration.ofSeconds(20),
        Duration.ofSeconds(10), true, Duration.ZERO, Duration.ZERO);
  }

  public ServerResilience withShutdownGrace(Duration grace) {
    return new ServerResilience(grace, keepaliveTime, keepaliveTimeout, permitKeepaliveTime,
        permitKeepaliveWithoutCalls, maxConnectionAge, maxConnectionAgeGrace);
  }

  public ServerResilience withMaxConnectionAge(Duration age, Duration grace) {
    return new ServerResilience(shutdownGrace, keepaliveTime, keepaliveTimeout, permitKeepaliveTime,
        permitKeepaliveWithoutCalls, age, grace);
  }

  /** Reads {@code shutdown_grace}, {@code keepalive: {...}} and {@code max_connection_age(_grace)}. */
  static ServerResilience from(ConfigNode server) {
    ServerResilience d = defaults();
    Duration grace = server.duration("shutdown_grace", d.shutdownGrace(), Duration.ZERO, Duration.ofHours(1));
    ConfigNode keepalive = server.child("keepalive");
    Duration time = keepalive.duration("time", d.keepaliveTime(), Duration.ZERO, MAX);
    Duration timeout = keepalive.duration("timeout", d.keepaliveTimeout(), Duration.ofSeconds(1), MAX);
    Duration permit = keepalive.duration("permit_time", d.permitKeepaliveTime(), Duration.ZERO, MAX);
    boolean withoutCalls = keepalive.bool("permit_without_calls", d.permitKeepaliveWithoutCalls());
    keepalive.rejectUnknownKeys();
    Duration age = server.duration("max_connection_age", d.maxConnectionAge(), Duration.ZERO, MAX);
    if (!age.isZero() && age.compareTo(Duration.ofSeconds(1)) < 0) {
      throw ConfigException.invalid(server.pathOf("max_connection_age"), ConfigNode.format(age),
          "0 (never) or at least 1s");
    }
    Duration ageGrace = server.duration("max_connection_age_grace", d.maxConnectionAgeGrace(), Duration.ZERO, MAX);
    return new ServerResilience(grace, time, timeout, permit, withoutCalls, age, ageGrace);
  }
}
