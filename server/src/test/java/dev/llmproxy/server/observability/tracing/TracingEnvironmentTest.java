package dev.llmproxy.server.observability.tracing;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llmproxy.server.config.ObservabilityConfig;
import java.util.Map;
import java.util.Properties;
import org.junit.jupiter.api.Test;

/** OTEL_* alone turn tracing on; OTEL_SDK_DISABLED and OTEL_TRACES_EXPORTER=none turn it off. */
class TracingEnvironmentTest {
  private static final ObservabilityConfig.Tracing ABSENT = ObservabilityConfig.Tracing.disabled();
  private static final ObservabilityConfig.Tracing SECTION =
      new ObservabilityConfig.Tracing(true, 0.25, "llmproxy", "http://collector:4318");

  private static TracingEnvironment env(Map<String, String> variables) {
    return TracingEnvironment.of(variables, new Properties());
  }

  @Test
  void withoutOtelSettingsTheConfigDecides() {
    assertThat(env(Map.of("HOME", "/root")).apply(ABSENT)).isEqualTo(ABSENT);
    assertThat(env(Map.of()).apply(SECTION)).isEqualTo(SECTION);
  }

  @Test
  void anExporterOrAnOtlpEndpointTurnsTracingOnWithoutASection() {
    assertThat(env(Map.of("OTEL_TRACES_EXPORTER", "otlp")).apply(ABSENT).enabled()).isTrue();
    assertThat(env(Map.of("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://c:4318/v1/traces")).apply(ABSENT).enabled())
        .isTrue();
    ObservabilityConfig.Tracing fromEndpoint = env(Map.of("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318")).apply(ABSENT);
    assertThat(fromEndpoint.enabled()).isTrue();
    assertThat(fromEndpoint.endpoint()).isEqualTo("http://c:4318");
    assertThat(fromEndpoint.sampleRatio()).isEqualTo(1.0);
  }

  @Test
  void theSectionsOwnEndpointAndRatioStayWhenTheEnvironmentAlsoAsks() {
    assertThat(env(Map.of("OTEL_EXPORTER_OTLP_ENDPOINT", "http://other:4318")).apply(SECTION)).isEqualTo(SECTION);
  }

  @Test
  void sdkDisabledOrExporterNoneWinsOverTheSectionAndTheEndpoint() {
    assertThat(env(Map.of("OTEL_SDK_DISABLED", "TRUE", "OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"))
        .apply(SECTION).enabled()).isFalse();
    assertThat(env(Map.of("OTEL_TRACES_EXPORTER", "none")).apply(SECTION).enabled()).isFalse();
    assertThat(env(Map.of("OTEL_SDK_DISABLED", "false", "OTEL_TRACES_EXPORTER", "otlp")).apply(ABSENT).enabled())
        .isTrue();
  }

  @Test
  void aSystemPropertyCountsAndWinsOverTheVariable() {
    Properties properties = new Properties();
    properties.setProperty("otel.sdk.disabled", "true");
    assertThat(TracingEnvironment.of(Map.of("OTEL_TRACES_EXPORTER", "otlp", "OTEL_SDK_DISABLED", "false"), properties)
        .apply(SECTION).enabled()).isFalse();
    Properties exporter = new Properties();
    exporter.setProperty("otel.traces.exporter", "otlp");
    assertThat(TracingEnvironment.of(Map.of(), exporter).apply(ABSENT).enabled()).isTrue();
  }
}
