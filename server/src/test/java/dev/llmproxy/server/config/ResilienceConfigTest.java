package dev.llmproxy.server.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.Status;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class ResilienceConfigTest {
  private final ConfigLoader loader = new ConfigLoader();

  private RouteResilience route(String settings) {
    return loader.parse("routes: [{name: r, default: true, upstreams: ['a:1'], " + settings + "}]")
        .routes().get(0).resilience();
  }

  private void rejects(String routeSettings, String message) {
    assertThatThrownBy(() -> route(routeSettings)).isInstanceOf(ConfigException.class).hasMessage(message);
  }

  @Test
  void parsesEveryRouteSetting() {
    RouteResilience r = route("""
        retry: {attempts: 2, codes: [UNAVAILABLE, internal]},
        timeouts: {first_token: 5s, between_tokens: 500ms},
        outlier_detection: {consecutive_failures: 3, base_ejection_time: 10s, max_ejection_time: 2m,
                            max_ejection_percent: 34, busy_avoidance: 250ms},
        max_in_flight: 64, queue: {size: 16, timeout: 300ms},
        keepalive: {time: 30s, timeout: 5s}""");
    assertThat(r.retry().attempts()).isEqualTo(2);
    assertThat(r.retry().retryableCodes()).containsExactlyInAnyOrder(Status.Code.UNAVAILABLE, Status.Code.INTERNAL);
    assertThat(r.timeouts()).isEqualTo(new StallTimeouts(Duration.ofSeconds(5), Duration.ofMillis(500)));
    assertThat(r.outliers()).isEqualTo(new OutlierDetection(3, Duration.ofSeconds(10), Duration.ofMinutes(2), 34,
        Duration.ofMillis(250)));
    assertThat(r.shedding()).isEqualTo(new LoadShedding(64, 16, Duration.ofMillis(300)));
    assertThat(r.keepalive()).isEqualTo(new UpstreamKeepalive(Duration.ofSeconds(30), Duration.ofSeconds(5)));
  }

  @Test
  void defaultsFailOverTwiceDetectStallsEjectAndDoNotShed() {
    RouteResilience r = route("lb: least_outstanding");
    assertThat(r).isEqualTo(RouteResilience.defaults());
    assertThat(r.retry().attempts()).isEqualTo(3);
    assertThat(r.retry().retryableCodes())
        .containsExactlyInAnyOrder(Status.Code.UNAVAILABLE, Status.Code.RESOURCE_EXHAUSTED);
    assertThat(r.timeouts()).isEqualTo(new StallTimeouts(Duration.ofSeconds(30), Duration.ofSeconds(10)));
    assertThat(r.outliers().ejects()).isTrue();
    assertThat(r.shedding().isCapped()).isFalse();
    // Every 5 minutes: the most often a grpc-java upstream accepts pings by default.
    assertThat(r.keepalive().time()).isEqualTo(Duration.ofMinutes(5));
  }

  @Test
  void zeroTurnsStallLimitsOffAndOneAttemptTurnsFailoverOff() {
    RouteResilience r = route("timeouts: {first_token: 0, between_tokens: 0}, retry: {attempts: 1}");
    assertThat(r.timeouts().isOff()).isTrue();
    assertThat(r.retry().attempts()).isEqualTo(1);
  }

  @Test
  void parsesTheServersDrainAndConnectionSettings() {
    ServerResilience s = loader.parse("""
        server:
          shutdown_grace: 10s
          keepalive: {time: 2m, timeout: 10s, permit_time: 20s, permit_without_calls: false}
          max_connection_age: 30m
          max_connection_age_grace: 1m
        routes: [{name: r, default: true, upstreams: ['a:1']}]
        """).server().resilience();
    assertThat(s).isEqualTo(new ServerResilience(Duration.ofSeconds(10), Duration.ofMinutes(2),
        Duration.ofSeconds(10), Duration.ofSeconds(20), false, Duration.ofMinutes(30), Duration.ofMinutes(1)));
  }

  @Test
  void serverDefaultsAllowGrpcJavaClientPingsAndDrainForThirtySeconds() {
    ServerResilience s = loader.parse("routes: [{name: r, default: true, upstreams: ['a:1']}]").server().resilience();
    assertThat(s).isEqualTo(ServerResilience.defaults());
    assertThat(s.shutdownGrace()).isEqualTo(Duration.ofSeconds(30));
    assertThat(s.permitKeepaliveTime()).isEqualTo(Duration.ofSeconds(10));
    assertThat(s.maxConnectionAge()).isZero();
  }

  @Test
  void rejectsBadRouteSettingsNamingTheFieldTheValueAndWhatWasExpected() {
    rejects("retry: {attempts: 0}", "routes[0].retry.attempts: 0 (expected: an integer from 1 to 10)");
    rejects("retry: {codes: [CANCELLED]}", "routes[0].retry.codes[0]: \"CANCELLED\" (expected: a status code such as "
        + "UNAVAILABLE or RESOURCE_EXHAUSTED; not OK, CANCELLED or DEADLINE_EXCEEDED, which are the client's doing)");
    rejects("retry: {codes: [BROKEN]}", "routes[0].retry.codes[0]: \"BROKEN\" (expected: a status code such as "
        + "UNAVAILABLE or RESOURCE_EXHAUSTED; not OK, CANCELLED or DEADLINE_EXCEEDED, which are the client's doing)");
    rejects("retry: {tries: 2}", "routes[0].retry.tries: unknown setting (expected one of: attempts, codes)");
    rejects("retry: {on: [UNAVAILABLE]}",
        "routes[0].retry.true: true (expected: a text key; YAML reads on, off, yes and no as true or false)");
    rejects("timeouts: {first_token: 2h}",
        "routes[0].timeouts.first_token: \"2h\" (expected: a duration from 0 to 1h)");
    rejects("timeouts: {between_tokens: soon}",
        "routes[0].timeouts.between_tokens: \"soon\" (expected: a duration such as 250ms, 30s, 5m or 0)");
    rejects("max_in_flight: -1", "routes[0].max_in_flight: -1 (expected: an integer from 0 to 1000000)");
    rejects("queue: {size: 5}", "routes[0].queue.size: 5 (expected: 0 unless max_in_flight is set)");
    rejects("max_in_flight: 4, queue: {size: 5, timeout: 0}",
        "routes[0].queue.timeout: \"0\" (expected: a positive duration when queue.size is set)");
    rejects("outlier_detection: {max_ejection_percent: 150}",
        "routes[0].outlier_detection.max_ejection_percent: 150 (expected: an integer from 0 to 100)");
    rejects("outlier_detection: {base_ejection_time: 1m, max_ejection_time: 30s}",
        "routes[0].outlier_detection.max_ejection_time: \"30s\" (expected: a duration from 1m to 1h)");
    rejects("keepalive: {time: 5s}",
        "routes[0].keepalive.time: \"5s\" (expected: 0 (off), or from 10s (the least a grpc-java client sends) to 24h)");
  }

  @Test
  void rejectsBadServerSettings() {
    assertThatThrownBy(() -> loader.parse("""
        server: {max_connection_age: 500ms}
        routes: [{name: r, default: true, upstreams: ['a:1']}]
        """)).hasMessage("server.max_connection_age: \"500ms\" (expected: 0 (never) or at least 1s)");
    assertThatThrownBy(() -> loader.parse("""
        server: {keepalive: {permit: 1s}}
        routes: [{name: r, default: true, upstreams: ['a:1']}]
        """)).hasMessageStartingWith("server.keepalive.permit: unknown setting");
    assertThatThrownBy(() -> loader.parse("""
        server: {shutdown_grace: 2h}
        routes: [{name: r, default: true, upstreams: ['a:1']}]
        """)).hasMessage("server.shutdown_grace: \"2h\" (expected: a duration from 0 to 1h)");
  }
}
