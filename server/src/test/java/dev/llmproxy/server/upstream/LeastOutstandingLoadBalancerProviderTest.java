package dev.llmproxy.server.upstream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.LoadBalancerRegistry;
import io.grpc.NameResolver.ConfigOrError;
import io.grpc.Status;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

class LeastOutstandingLoadBalancerProviderTest {
  private final LeastOutstandingLoadBalancerProvider provider =
      new LeastOutstandingLoadBalancerProvider();

  @Test
  void isRegisteredInTheDefaultRegistryUnderItsPolicyName() {
    assertThat(LoadBalancerRegistry.getDefaultRegistry().getProvider("least_outstanding"))
        .isInstanceOf(LeastOutstandingLoadBalancerProvider.class);
  }

  @Test
  void defaultsToTwoChoices() {
    ConfigOrError parsed = provider.parseLoadBalancingPolicyConfig(Map.of());

    assertThat(parsed.getConfig()).isEqualTo(new LeastOutstandingLoadBalancerProvider.Config(2));
  }

  @Test
  void acceptsAChoiceCountFromJsonAsDouble() {
    ConfigOrError parsed = provider.parseLoadBalancingPolicyConfig(
        Map.of("choiceCount", 3.0, "someFutureKey", true));

    assertThat(parsed.getConfig()).isEqualTo(new LeastOutstandingLoadBalancerProvider.Config(3));
  }

  @ParameterizedTest
  @ValueSource(doubles = {1, 11, 0, -2})
  void rejectsAChoiceCountOutsideTwoToTen(double choiceCount) {
    ConfigOrError parsed =
        provider.parseLoadBalancingPolicyConfig(Map.of("choiceCount", choiceCount));

    assertThat(parsed.getError().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
    assertThat(parsed.getError().getDescription()).isEqualTo("least_outstanding: choiceCount: "
        + (long) choiceCount + " (expected: an integer from 2 to 10)");
  }

  @Test
  void rejectsAFractionalOrNonNumericChoiceCount() {
    assertThat(provider.parseLoadBalancingPolicyConfig(Map.of("choiceCount", 2.5))
        .getError().getDescription()).contains("choiceCount: 2.5 (expected: an integer");
    assertThat(provider.parseLoadBalancingPolicyConfig(Map.of("choiceCount", "two"))
        .getError().getDescription()).contains("choiceCount: two (expected: an integer");
  }

  @Test
  void aChannelWithAnInvalidChoiceCountFailsToBuild() {
    Map<String, ?> serviceConfig = Map.of("loadBalancingConfig",
        List.of(Map.of("least_outstanding", Map.of("choiceCount", 11.0))));

    assertThatThrownBy(() -> Grpc.newChannelBuilder(
            "static:///127.0.0.1:7000", InsecureChannelCredentials.create())
        .defaultServiceConfig(serviceConfig).build())
        .hasMessageContaining("choiceCount: 11 (expected: an integer from 2 to 10)");
  }
}
