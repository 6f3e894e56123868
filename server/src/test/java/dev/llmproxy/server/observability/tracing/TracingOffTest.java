package dev.llmproxy.server.observability.tracing;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llmproxy.server.config.ObservabilityConfig;
import dev.llmproxy.server.observability.Observability;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import java.io.ByteArrayOutputStream;
import org.junit.jupiter.api.Test;

/** Tracing off costs nothing per call: no observer, no interceptor, no SDK. */
class TracingOffTest {
  @Test
  void withTracingOffNothingInterceptsCallsOrUpstreamAttempts() throws Exception {
    try (Observability off = Observability.start(ObservabilityConfig.defaults(), new SimpleMeterRegistry(),
        new ByteArrayOutputStream())) {
      assertThat(off.serverInterceptor()).isNull();
      assertThat(off.upstreamInterceptors()).isEmpty();
    }
  }

  @Test
  void withTracingOnTheServerObserverAndTheAttemptInterceptorAreInstalled() throws Exception {
    ObservabilityConfig on = ObservabilityConfig.defaults()
        .withTracing(new ObservabilityConfig.Tracing(true, 1.0, "llmproxy", null));
    try (OpenTelemetrySdk sdk = OpenTelemetrySdk.builder().build();
        Observability tracing = Observability.start(on, new SimpleMeterRegistry(), new ByteArrayOutputStream(), sdk)) {
      assertThat(tracing.serverInterceptor()).isNotNull();
      assertThat(tracing.upstreamInterceptors()).singleElement().isInstanceOf(TracingClientInterceptor.class);
    }
  }
}
