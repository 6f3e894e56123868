package dev.llmproxy.server.observability.tracing;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llmproxy.server.config.ObservabilityConfig;
import io.opentelemetry.context.Context;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Config generations share the SDK of equal tracing settings, get a new one for new settings, and an
 * SDK stops a grace period after its last generation lets go. The grace is a queue the test runs.
 */
class TracingLeasesTest {
  // Nothing listens there; no span in these tests ends, so nothing is exported.
  private static final ObservabilityConfig.Tracing FIRST =
      new ObservabilityConfig.Tracing(true, 1.0, "llmproxy-test", "http://127.0.0.1:1");
  private static final ObservabilityConfig.Tracing SECOND = FIRST.withEndpoint("http://127.0.0.1:2");

  private final List<ObservabilityConfig.Tracing> built = new ArrayList<>();
  private final List<Runnable> graceOver = new ArrayList<>();
  private final TracingLeases leases = new TracingLeases(config -> {
    built.add(config);
    return ProxyTracing.fromConfig(config);
  }, graceOver::add);

  @AfterEach
  void close() {
    leases.close();
  }

  /** Whether the SDK still records spans (a shut-down SDK hands out no-op spans). */
  private static boolean recording(TracingLeases.Lease lease) {
    return lease.tracing().tracer().spanBuilder("probe").startSpan().isRecording();
  }

  private static boolean sampled(TracingLeases.Lease lease) {
    return lease.tracing().tracer().spanBuilder("probe").setParent(Context.root()).startSpan().getSpanContext()
        .isSampled();
  }

  @Test
  void generationsWithTheSameSettingsShareOneSdkThatStopsAGraceAfterTheLastLetsGo() {
    TracingLeases.Lease first = leases.acquire(FIRST);
    TracingLeases.Lease second = leases.acquire(new ObservabilityConfig.Tracing(true, 0.5, "llmproxy-test",
        "http://127.0.0.1:1")); // another sample ratio is the same SDK

    assertThat(second.tracing()).isSameAs(first.tracing());
    first.close();
    assertThat(graceOver).isEmpty();
    assertThat(recording(second)).isTrue();

    second.close();
    second.close(); // once only
    assertThat(graceOver).hasSize(1);
    assertThat(recording(second)).as("within the grace").isTrue();
    graceOver.get(0).run();
    assertThat(recording(second)).isFalse();
    assertThat(built).hasSize(1);
  }

  @Test
  void newSettingsGetANewSdkWhileTheOldOneServesItsGenerationsCalls() {
    TracingLeases.Lease old = leases.acquire(FIRST);
    TracingLeases.Lease moved = leases.acquire(SECOND);
    TracingLeases.Lease renamed = leases.acquire(new ObservabilityConfig.Tracing(true, 1.0, "other-name",
        "http://127.0.0.1:1"));

    assertThat(built).hasSize(3);
    assertThat(moved.tracing()).isNotSameAs(old.tracing());
    assertThat(recording(old)).isTrue();

    old.close();
    graceOver.forEach(Runnable::run);
    assertThat(recording(old)).isFalse();
    assertThat(recording(moved)).isTrue();
    assertThat(recording(renamed)).isTrue();
  }

  @Test
  void aGenerationWithTracingOffLeasesNothing() {
    assertThat(leases.acquire(ObservabilityConfig.Tracing.disabled())).isNull();
    assertThat(leases.acquire(FIRST.withEnabled(false))).isNull();
    assertThat(built).isEmpty();
  }

  @Test
  void aReloadedSampleRatioAppliesToTheSdkItsSettingsShare() {
    TracingLeases.Lease lease = leases.acquire(FIRST);
    assertThat(sampled(lease)).isTrue();

    leases.setSampleRatio(new ObservabilityConfig.Tracing(true, 0.0, "llmproxy-test", "http://127.0.0.1:1"));

    assertThat(sampled(lease)).isFalse();
  }

  @Test
  void closingStopsEverySdkLeasedOrInItsGrace() {
    TracingLeases.Lease leased = leases.acquire(FIRST);
    TracingLeases.Lease inGrace = leases.acquire(SECOND);
    inGrace.close();

    leases.close();

    assertThat(recording(leased)).isFalse();
    assertThat(recording(inGrace)).isFalse();
    graceOver.forEach(Runnable::run); // a late grace finds it stopped already
    leased.close();
  }
}
