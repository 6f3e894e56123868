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
        .isEqualTo(new LeastLoadedLoadBalancerProvider.Config(Duration.ofSeconds(10)));
    assertThat(provider.parseLoadBalancingPolicyConfig(Map.of("reportTtlMillis", 2500.0)).getConfig())
        .isEqualTo(new LeastLoadedLoadBalancerProvider.Config(Duration.ofMillis(2500)));
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
}
