package dev.llmproxy.server.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class ObservabilityConfigTest {
  private static final String ROUTES = "routes: [{name: r, default: true, upstreams: [\"127.0.0.1:7001\"]}]\n";

  private static ProxyConfig parse(String yaml) {
    return new ConfigLoader().parse(ROUTES + yaml);
  }

  @Test
  void everythingIsOffWithoutAnObservabilitySection() {
    ObservabilityConfig o = parse("").observability();

    assertThat(o.metrics().enabled()).isFalse();
    assertThat(o.accessLog()).isFalse();
    assertThat(o.channelz()).isFalse();
  }

  @Test
  void readsMetricsAccessLogAndChannelz() {
    ObservabilityConfig o = parse("""
        observability:
          metrics: {host: 0.0.0.0, port: 9100}
          access_log: true
          channelz: true
        """).observability();

    assertThat(o.metrics()).isEqualTo(new ObservabilityConfig.Metrics(true, "0.0.0.0", 9100));
    assertThat(o.accessLog()).isTrue();
    assertThat(o.channelz()).isTrue();
  }

  @Test
  void metricsSectionDefaultsToLoopbackPort9464() {
    assertThat(parse("observability: {metrics: {}}").observability().metrics())
        .isEqualTo(new ObservabilityConfig.Metrics(true, "127.0.0.1", 9464));
  }

  @Test
  void rejectsAnOutOfRangeMetricsPortNamingTheSetting() {
    assertThatThrownBy(() -> parse("observability: {metrics: {port: 70000}}"))
        .isInstanceOf(ConfigException.class)
        .hasMessage("observability.metrics.port: 70000 (expected: an integer from 0 to 65535)");
  }

  @Test
  void rejectsUnknownSettingsInsteadOfIgnoringThem() {
    assertThatThrownBy(() -> parse("observability: {acess_log: true}"))
        .isInstanceOf(ConfigException.class)
        .hasMessageStartingWith("observability.acess_log: unknown setting");
    assertThatThrownBy(() -> parse("observability: {metrics: {enabled: yes-please}}"))
        .isInstanceOf(ConfigException.class)
        .hasMessageStartingWith("observability.metrics.enabled: \"yes-please\" (expected: true or false)");
  }

  @Test
  void tracingIsOffByDefaultAndReadsItsSettings() {
    assertThat(parse("").observability().tracing().enabled()).isFalse();
    ObservabilityConfig.Tracing t = parse("""
        observability:
          tracing: {sample_ratio: 0.25, service_name: edge-proxy, endpoint: "http://collector:4318"}
        """).observability().tracing();

    assertThat(t).isEqualTo(new ObservabilityConfig.Tracing(true, 0.25, "edge-proxy", "http://collector:4318"));
  }

  @Test
  void rejectsASampleRatioOutsideZeroToOneAndAnEndpointThatIsNotAUrl() {
    assertThatThrownBy(() -> parse("observability: {tracing: {sample_ratio: 1.5}}"))
        .isInstanceOf(ConfigException.class)
        .hasMessageStartingWith("observability.tracing.sample_ratio: 1.5");
    assertThatThrownBy(() -> parse("observability: {tracing: {endpoint: collector:4318}}"))
        .isInstanceOf(ConfigException.class)
        .hasMessage("observability.tracing.endpoint: \"collector:4318\" (expected: an http:// or https:// URL)");
  }

  @Test
  void logDefaultsToPlainInfoAndRefusesUnknownFormats() {
    assertThat(parse("").observability().log()).isEqualTo(new ObservabilityConfig.Log("info", "plain"));
    assertThat(parse("observability: {log: {level: debug, format: json}}").observability().log())
        .isEqualTo(new ObservabilityConfig.Log("debug", "json"));
    assertThatThrownBy(() -> parse("observability: {log: {format: xml}}"))
        .isInstanceOf(ConfigException.class)
        .hasMessage("observability.log.format: \"xml\" (expected: one of plain, json)");
  }

  @Test
  void aReloadTakesTracingWholeWhileTheMetricsEndpointAndChannelzWaitForARestart() {
    ObservabilityConfig running = parse("observability: {metrics: {port: 9100}}").observability();
    ObservabilityConfig next = parse("""
        observability:
          metrics: {port: 9200}
          channelz: true
          tracing: {sample_ratio: 0.5, service_name: edge, endpoint: "http://collector:4318"}
        """).observability();

    ObservabilityConfig reloaded = running.reloadedAs(next);

    assertThat(reloaded.tracing()).isEqualTo(next.tracing());
    assertThat(reloaded.metrics()).isEqualTo(running.metrics());
    assertThat(reloaded.channelz()).isFalse();
    assertThat(running.restartOnlyChanges(next))
        .containsExactly("observability.metrics (the endpoint)", "observability.channelz");
    assertThat(next.restartOnlyChanges(next.withTracing(ObservabilityConfig.Tracing.disabled()))).isEmpty();
  }
}
