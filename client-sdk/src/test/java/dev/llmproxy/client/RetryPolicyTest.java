package dev.llmproxy.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class RetryPolicyTest {

  @Test
  void becomesAServiceConfigThatRetriesOnlyUnavailableOnBothMethods() {
    Map<String, Object> config = RetryServiceConfig.of(RetryPolicy.defaults().withBackoff(
        Duration.ofMillis(250), Duration.ofSeconds(3)));

    @SuppressWarnings("unchecked")
    Map<String, Object> method = ((List<Map<String, Object>>) config.get("methodConfig")).get(0);
    assertThat(method.get("name")).isEqualTo(List.of(Map.of("service", "llmproxy.v1.LlmProxy")));
    assertThat(method.get("retryPolicy")).isEqualTo(Map.of(
        "maxAttempts", 4.0,
        "initialBackoff", "0.25s",
        "maxBackoff", "3s",
        "backoffMultiplier", 2.0,
        "retryableStatusCodes", List.of("UNAVAILABLE")));
  }

  @Test
  void writesDurationsAsDecimalSeconds() {
    assertThat(RetryServiceConfig.seconds(Duration.ofNanos(1))).isEqualTo("0.000000001s");
    assertThat(RetryServiceConfig.seconds(Duration.ofMillis(1500))).isEqualTo("1.5s");
    assertThat(RetryServiceConfig.seconds(Duration.ofMinutes(2))).isEqualTo("120s");
  }

  @Test
  void rejectsSettingsGrpcWouldIgnoreOrRefuse() {
    assertThatThrownBy(() -> RetryPolicy.defaults().withMaxAttempts(6))
        .hasMessage("maxAttempts: 6 (expected: 1 to 5, 1 for no retries)");
    assertThatThrownBy(() -> RetryPolicy.defaults().withBackoff(Duration.ZERO, Duration.ofSeconds(1)))
        .hasMessage("initialBackoff: PT0S (expected: > 0)");
    assertThatThrownBy(() -> RetryPolicy.defaults().withBackoff(Duration.ofSeconds(2), Duration.ofSeconds(1)))
        .hasMessage("maxBackoff: PT1S (expected: >= initialBackoff PT2S)");
    assertThatThrownBy(() -> new RetryPolicy(2, Duration.ofMillis(1), Duration.ofMillis(1), Double.NaN))
        .hasMessage("backoffMultiplier: NaN (expected: > 0)");
  }
}
