package dev.llmproxy.server.observability.tracing;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llmproxy.server.config.ObservabilityConfig;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanContext;
import io.opentelemetry.api.trace.TraceFlags;
import io.opentelemetry.api.trace.TraceState;
import io.opentelemetry.context.Context;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import org.junit.jupiter.api.Test;

/** The sample ratio of the SDK built from the config changes on a reload; a client's sampled trace is followed. */
class ProxyTracingSampleRatioTest {
  // Nothing listens there; no span in these tests ends, so nothing is exported.
  private static final ObservabilityConfig.Tracing ALWAYS =
      new ObservabilityConfig.Tracing(true, 1.0, "llmproxy-test", "http://127.0.0.1:1");

  private static boolean sampled(ProxyTracing tracing, Context parent) {
    return tracing.tracer().spanBuilder("call").setParent(parent).startSpan().getSpanContext().isSampled();
  }

  @Test
  void aNewRatioAppliesToNewTracesButNotToTracesTheClientSampled() {
    try (ProxyTracing tracing = ProxyTracing.fromConfig(ALWAYS)) {
      assertThat(sampled(tracing, Context.root())).isTrue();

      assertThat(tracing.setSampleRatio(0.0)).isTrue();

      assertThat(sampled(tracing, Context.root())).isFalse();
      SpanContext client = SpanContext.createFromRemoteParent("0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331",
          TraceFlags.getSampled(), TraceState.getDefault());
      assertThat(sampled(tracing, Context.root().with(Span.wrap(client)))).isTrue();

      assertThat(tracing.setSampleRatio(1.0)).isTrue();
      assertThat(sampled(tracing, Context.root())).isTrue();
    }
  }

  @Test
  void theRatioOfAnSdkTheCallerBuiltIsTheCallersToChange() {
    try (OpenTelemetrySdk sdk = OpenTelemetrySdk.builder().build();
        ProxyTracing tracing = ProxyTracing.over(sdk)) {
      assertThat(tracing.setSampleRatio(0.0)).isFalse();
    }
  }
}
