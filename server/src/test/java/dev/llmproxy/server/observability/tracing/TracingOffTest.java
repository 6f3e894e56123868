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
  private static final ObservabilityConfig ON = ObservabilityConfig.defaults()
      .withTracing(new ObservabilityConfig.Tracing(true, 1.0, "llmproxy", null));

  @Test
  void withTracingOffNothingInterceptsCallsOrUpstreamAttempts() throws Exception {
    try (Observability off = Observability.start(ObservabilityConfig.defaults(), new SimpleMeterRegistry(),
        new ByteArrayOutputStream());
        Observability.Generation generation = off.generation(ObservabilityConfig.defaults())) {
      assertThat(generation.serverInterceptor()).isNull();
      assertThat(generation.upstreamInterceptor()).isNull();
      assertThat(off.upstreamInterceptors()).isEmpty();
    }
  }

  @Test
  void withTracingOnTheServerObserverAndTheAttemptInterceptorAreInstalled() throws Exception {
    try (OpenTelemetrySdk sdk = OpenTelemetrySdk.builder().build();
        Observability tracing = Observability.start(ON, new SimpleMeterRegistry(), new ByteArrayOutputStream(), sdk);
        Observability.Generation generation = tracing.generation(ON)) {
      assertThat(generation.serverInterceptor()).isNotNull();
      assertThat(generation.upstreamInterceptor()).isInstanceOf(TracingClientInterceptor.class);
      assertThat(tracing.upstreamInterceptors()).isEmpty(); // never on the channels, which outlive generations
    }
  }

  @Test
  void aGenerationWithTracingOffHasNothingOfItsOwnWhileAnotherOneTraces() throws Exception {
    try (OpenTelemetrySdk sdk = OpenTelemetrySdk.builder().build();
        Observability observability = Observability.start(ON, new SimpleMeterRegistry(),
            new ByteArrayOutputStream(), sdk);
        Observability.Generation traced = observability.generation(ON);
        Observability.Generation off = observability.generation(ObservabilityConfig.defaults())) {
      assertThat(traced.upstreamInterceptor()).isNotNull();
      assertThat(off.serverInterceptor()).isNull();
      assertThat(off.upstreamInterceptor()).isNull();
    }
  }
}
