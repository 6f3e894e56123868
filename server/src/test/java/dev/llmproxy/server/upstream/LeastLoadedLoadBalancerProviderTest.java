package dev.llmproxy.server.upstream;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.LoadBalancerRegistry;
import io.grpc.NameResolver.ConfigOrError;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

class LeastLoadedLoadBalancerProviderTest {
  private final LeastLoadedLoadBalancerProvider provider = new LeastLoadedLoadBalancerProvider();

  @Test
  void isRegisteredUnderItsName() {
    assertThat(LoadBalancerRegistry.getDefaultRegistry().getProvider("least_loaded"))
        .isInstanceOf(LeastLoadedLoadBalancerProvider.class);
  }

  @Test
  void reportTtlIsOptional() {
    assertThat(provider.parseLoadBalancingPolicyConfig(Map.of()).getConfig())
        .isEqualTo(new LeastLoadedLoadBalancerProvider.Config(Duration.ofSeconds(10), null));
    assertThat(provider.parseLoadBalancingPolicyConfig(Map.of("reportTtlMillis", 2500.0)).getConfig())
        .isEqualTo(new LeastLoadedLoadBalancerProvider.Config(Duration.ofMillis(2500), null));
  }

  @Test
  void aBadReportTtlIsRejectedWithWhatWasExpected() {
    for (Object bad : new Object[] {0.0, "10s", 4_000_000.0}) {
      ConfigOrError parsed = provider.parseLoadBalancingPolicyConfig(Map.of("reportTtlMillis", bad));
      assertThat(parsed.getError()).isNotNull();
      assertThat(parsed.getError().getDescription())
          .startsWith("least_loaded: reportTtlMillis: " + bad)
          .contains("expected: a number of milliseconds from 1 to 3600000");
    }
  }

  @Test
  void outOfBandReportsAreOffUnlessEnabledAndAskForTheirPeriod() {
    assertThat(provider.parseLoadBalancingPolicyConfig(Map.of("oobReportingPeriodMillis", 500.0)).getConfig())
        .isEqualTo(new LeastLoadedLoadBalancerProvider.Config(Duration.ofSeconds(10), null));
    assertThat(provider.parseLoadBalancingPolicyConfig(Map.of("enableOobLoadReport", true)).getConfig())
        .isEqualTo(new LeastLoadedLoadBalancerProvider.Config(Duration.ofSeconds(10), Duration.ofSeconds(1)));
    assertThat(provider.parseLoadBalancingPolicyConfig(
        Map.of("enableOobLoadReport", true, "oobReportingPeriodMillis", 250.0)).getConfig())
        .isEqualTo(new LeastLoadedLoadBalancerProvider.Config(Duration.ofSeconds(10), Duration.ofMillis(250)));
  }

  @Test
  void badOutOfBandSettingsAreRejectedWithWhatWasExpected() {
    assertThat(provider.parseLoadBalancingPolicyConfig(Map.of("enableOobLoadReport", "yes")).getError()
        .getDescription()).isEqualTo("least_loaded: enableOobLoadReport: yes (expected: true or false)");
    assertThat(provider.parseLoadBalancingPolicyConfig(Map.of("oobReportingPeriodMillis", 0.0)).getError()
        .getDescription()).startsWith("least_loaded: oobReportingPeriodMillis: 0.0 (expected: a number of milliseconds");
  }
}
