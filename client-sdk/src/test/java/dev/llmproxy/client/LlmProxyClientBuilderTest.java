package dev.llmproxy.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class LlmProxyClientBuilderTest {

  @Test
  void rejectsAnEmptyOrSpacedTarget() {
    assertThatThrownBy(() -> LlmProxyClient.builder(" "))
        .hasMessage("target: ' ' (expected: host:port or a gRPC target such as dns:///host:port)");
    assertThatThrownBy(() -> LlmProxyClient.builder("host :1")).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void rejectsNonPositiveDeadlinesAndTooFrequentKeepalive() {
    LlmProxyClient.Builder b = LlmProxyClient.builder("127.0.0.1:1");
    assertThatThrownBy(() -> b.defaultDeadline(Duration.ZERO)).hasMessage("defaultDeadline: PT0S (expected: > 0)");
    assertThatThrownBy(() -> b.keepAlive(Duration.ofSeconds(5), Duration.ofSeconds(1)))
        .hasMessage("keepAliveTime: PT5S (expected: >= PT10S, gRPC's minimum)");
    assertThatThrownBy(() -> b.keepAlive(Duration.ofSeconds(30), Duration.ofSeconds(-1)))
        .hasMessage("keepAliveTimeout: PT-1S (expected: > 0)");
  }

  @Test
  void rejectsAnApiKeyThatCannotTravelInAHeaderWithoutEchoingIt() {
    assertThatThrownBy(() -> LlmProxyClient.builder("127.0.0.1:1").apiKey("s3cret key"))
        .hasMessage("apiKey: 10 characters (expected: a non-empty key of printable ASCII without spaces)")
        .hasMessageNotContaining("s3cret");
    assertThatThrownBy(() -> LlmProxyClient.builder("127.0.0.1:1").apiKeyHeader("X-Key"))
        .hasMessageStartingWith("apiKeyHeader: 'X-Key' (expected: a lower-case ASCII header name");
  }

  @Test
  void refusesPlaintextCombinedWithCertificates() {
    assertThatThrownBy(() -> LlmProxyClient.builder("127.0.0.1:1").usePlaintext()
        .trustCertificates(Path.of("/ca.pem")).build())
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("usePlaintext(): cannot be combined with trustCertificates() "
            + "(expected: TLS settings only without usePlaintext())");
  }

  @Test
  void reportsAnUnreadableCertificateFileByName() {
    assertThatThrownBy(() -> LlmProxyClient.builder("127.0.0.1:1")
        .trustCertificates(Path.of("/no/such/ca.pem")).build())
        .isInstanceOf(UncheckedIOException.class)
        .hasMessageContaining("trustCertificates: /no/such/ca.pem is not a readable file");
  }

  @Test
  void settingsNeverPrintTheApiKey() {
    ClientSettings settings = new ClientSettings("t:1", true, null, null, null, null, "s3cret", "x-api-key",
        Duration.ofSeconds(1), RetryPolicy.defaults(), null, null);

    assertThat(settings.toString()).doesNotContain("s3cret").contains("apiKey=<redacted>");
    assertThat(new ApiKeyCallCredentials("x-api-key", "s3cret").toString()).doesNotContain("s3cret");
  }

  @Test
  void withDeadlineSharesTheClientWithAnotherDeadline() {
    try (LlmProxyClient client = LlmProxyClient.builder("127.0.0.1:1").usePlaintext().build()) {
      assertThat(client.deadline()).isEqualTo(LlmProxyClient.Builder.DEFAULT_DEADLINE);
      assertThat(client.withDeadline(Duration.ofSeconds(3)).deadline()).isEqualTo(Duration.ofSeconds(3));
    }
  }
}
