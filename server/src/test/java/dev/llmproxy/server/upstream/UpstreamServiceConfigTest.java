package dev.llmproxy.server.upstream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.llmproxy.server.config.LbPolicy;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class UpstreamServiceConfigTest {

  @Test
  void defaultsToLeastOutstandingWithHealthChecking() {
    UpstreamServiceConfig config = UpstreamServiceConfig.newBuilder().build();

    assertThat(config.toServiceConfig()).isEqualTo(Map.of(
        "loadBalancingConfig", List.of(Map.of("least_outstanding", Map.of())),
        "healthCheckConfig", Map.of("serviceName", "llmproxy.v1.LlmProxy")));
  }

  @Test
  void writesChoiceCountAsADouble() {
    Map<String, ?> serviceConfig =
        UpstreamServiceConfig.newBuilder().choiceCount(3).build().toServiceConfig();

    assertThat(serviceConfig.get("loadBalancingConfig"))
        .isEqualTo(List.of(Map.of("least_outstanding", Map.of("choiceCount", 3.0))));
  }

  @Test
  void leavesHealthCheckConfigOutWhenHealthCheckingIsOff() {
    Map<String, ?> serviceConfig = UpstreamServiceConfig.newBuilder()
        .policy("round_robin").healthCheck(false).build().toServiceConfig();

    assertThat(serviceConfig).isEqualTo(
        Map.of("loadBalancingConfig", List.of(Map.of("round_robin", Map.of()))));
  }

  @Test
  void producesAnUnmodifiableMap() {
    @SuppressWarnings("unchecked")
    Map<String, Object> serviceConfig =
        (Map<String, Object>) UpstreamServiceConfig.newBuilder().build().toServiceConfig();

    assertThatThrownBy(() -> serviceConfig.put("methodConfig", List.of()))
        .isInstanceOf(UnsupportedOperationException.class);
  }

  @Test
  void rejectsAnUnknownPolicyNamingTheKnownOnes() {
    assertThatThrownBy(() -> UpstreamServiceConfig.newBuilder().policy("random"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("policy: random (expected: one of least_outstanding, round_robin, pick_first, peak_ewma, prefix_affinity, least_loaded)");
  }

  @Test
  void rejectsAChoiceCountOutOfRange() {
    assertThatThrownBy(() -> UpstreamServiceConfig.newBuilder().choiceCount(1))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("choiceCount: 1 (expected: 2 to 10)");
  }

  @Test
  void rejectsAChoiceCountForAnotherPolicy() {
    UpstreamServiceConfig.Builder builder =
        UpstreamServiceConfig.newBuilder().policy(LbPolicy.ROUND_ROBIN).choiceCount(3);

    assertThatThrownBy(builder::build)
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("choiceCount: 3 applies only to least_outstanding (policy: round_robin)");
  }

  @Test
  void rebuildsEqualFromItsBuilder() {
    UpstreamServiceConfig config = UpstreamServiceConfig.newBuilder().choiceCount(4).build();

    assertThat(config.toBuilder().build()).isEqualTo(config).hasSameHashCodeAs(config);
    assertThat(config.toBuilder().healthCheck(false).build()).isNotEqualTo(config);
    assertThat(config).hasToString(
        "UpstreamServiceConfig{policy=least_outstanding, choiceCount=4, healthCheck=true}");
  }

  @ParameterizedTest
  @EnumSource(LbPolicy.class)
  void everyPolicyMakesAConfigThatAChannelAccepts(LbPolicy policy) {
    UpstreamServiceConfig config = UpstreamServiceConfig.newBuilder().policy(policy).build();

    // Building parses the default service config, including the policy's own config.
    ManagedChannel channel = Grpc.newChannelBuilder(
            StaticNameResolverProvider.target(List.of("127.0.0.1:7000")),
            InsecureChannelCredentials.create())
        .defaultServiceConfig(config.toServiceConfig())
        .build();
    channel.shutdownNow();
  }

  @Test
  @SuppressWarnings("unchecked")
  void wrapsThePolicyInTheAvoidancePolicyWithTheRoutesOutlierSettings() {
    Map<String, ?> config = UpstreamServiceConfig.newBuilder().policy("pick_first").healthCheck(false)
        .avoidance(new dev.llmproxy.server.config.OutlierDetection(3, java.time.Duration.ofSeconds(10),
            java.time.Duration.ofMinutes(2), 34, java.time.Duration.ofMillis(500)))
        .build().toServiceConfig();

    assertThat(config.get("loadBalancingConfig")).isEqualTo(List.of(Map.of("llmproxy_avoidance", Map.of(
        "consecutiveFailures", 3.0, "baseEjectionTimeMillis", 10_000.0, "maxEjectionTimeMillis", 120_000.0,
        "maxEjectionPercent", 34.0, "busyAvoidanceMillis", 500.0,
        "childPolicy", List.of(Map.of("pick_first", Map.of()))))));
    io.grpc.NameResolver.ConfigOrError parsed = new AvoidanceLoadBalancerProvider().parseLoadBalancingPolicyConfig(
        (Map<String, ?>) ((Map<?, ?>) ((List<?>) config.get("loadBalancingConfig")).get(0)).get("llmproxy_avoidance"));
    assertThat(parsed.getError()).isNull();
    assertThat(((AvoidanceLoadBalancer.Config) parsed.getConfig()).outliers().consecutiveFailures()).isEqualTo(3);
  }

  @Test
  void theAvoidancePolicyRejectsBadSettingsNamingThem() {
    io.grpc.NameResolver.ConfigOrError parsed = new AvoidanceLoadBalancerProvider().parseLoadBalancingPolicyConfig(
        Map.of("maxEjectionPercent", 1.5, "childPolicy", List.of(Map.of("round_robin", Map.of()))));

    assertThat(parsed.getError().getDescription())
        .isEqualTo("llmproxy_avoidance: maxEjectionPercent: 1.5 (expected: a whole number, at least 0)");
  }
}
