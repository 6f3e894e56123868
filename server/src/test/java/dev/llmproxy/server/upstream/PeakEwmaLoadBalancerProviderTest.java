package dev.llmproxy.server.upstream;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.NameResolver.ConfigOrError;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

class PeakEwmaLoadBalancerProviderTest {
  private final PeakEwmaLoadBalancerProvider provider = new PeakEwmaLoadBalancerProvider();

  @Test
  void decayAndBatchSizeAreOptional() {
    assertThat(provider.parseLoadBalancingPolicyConfig(Map.of()).getConfig())
        .isEqualTo(new PeakEwmaLoadBalancerProvider.Config(Duration.ofSeconds(10), 1));
    assertThat(provider.parseLoadBalancingPolicyConfig(Map.of("decayMillis", 3000.0, "batchSize", 32.0)).getConfig())
        .isEqualTo(new PeakEwmaLoadBalancerProvider.Config(Duration.ofSeconds(3), 32));
  }

  @Test
  void aBadBatchSizeIsRejectedWithWhatWasExpected() {
    for (Object bad : new Object[] {0.0, 0.5, 5000.0, "32"}) {
      ConfigOrError parsed = provider.parseLoadBalancingPolicyConfig(Map.of("batchSize", bad));
      assertThat(parsed.getError()).isNotNull();
      assertThat(parsed.getError().getDescription())
          .isEqualTo("peak_ewma: batchSize: " + bad + " (expected: a whole number from 1 to 4096)");
    }
  }
}
