package dev.llmproxy.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.llmproxy.server.config.ServerConfig;
import dev.llmproxy.server.config.TlsServerConfig;
import io.grpc.testing.TlsTesting;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The client over TLS and mutual TLS to a real proxy, with grpc-testing's CA and certificates. */
@Timeout(60)
class TlsE2ETest {
  private static final String AUTHORITY = "foo.test.google.fr"; // a name server1.pem carries

  @TempDir Path dir;

  private Path pem(String name) throws IOException {
    Path file = dir.resolve(name);
    try (InputStream in = TlsTesting.loadCert(name)) {
      Files.copy(in, file);
    }
    return file;
  }

  private ProxyHarness proxy(Path clientCa) throws IOException {
    ServerConfig listener = new ServerConfig("127.0.0.1", 0, ServerConfig.DEFAULT_MAX_REQUEST_BYTES, true,
        new TlsServerConfig(pem("server1.pem"), pem("server1.key"), clientCa), ServerConfig.DEFAULT_FORWARD_HEADERS);
    return ProxyHarness.start(1, c -> c, listener);
  }

  private LlmProxyClient.Builder client(ProxyHarness proxy) {
    return LlmProxyClient.builder(proxy.target()).overrideAuthority(AUTHORITY)
        .defaultDeadline(Duration.ofSeconds(20)).retryPolicy(RetryPolicy.disabled());
  }

  @Test
  void completesOverTlsTrustingTheProxysCa() throws Exception {
    Path ca = pem("ca.pem");
    try (ProxyHarness proxy = proxy(null);
        LlmProxyClient client = client(proxy).trustCertificates(ca).apiKey("tls-key").build()) {
      assertThat(client.complete("secure hello").getText()).isNotEmpty();
    }
  }

  @Test
  void completesOverMutualTlsAndIsRefusedWithoutAClientCertificate() throws Exception {
    Path ca = pem("ca.pem");
    try (ProxyHarness proxy = proxy(ca);
        LlmProxyClient withCert = client(proxy).trustCertificates(ca)
            .clientCertificate(pem("client.pem"), pem("client.key")).build();
        LlmProxyClient withoutCert = client(proxy).trustCertificates(ca).build()) {
      try (CompletionStream stream = withCert.stream("mutual hello")) {
        assertThat(stream.toStream().count()).isPositive();
      }

      assertThatThrownBy(() -> withoutCert.complete("no cert")).isInstanceOf(UnavailableException.class);
      assertThat(proxy.sim().recorder().started()).isEqualTo(1);
    }
  }

  @Test
  void refusesAProxyWhoseCertificateItDoesNotTrust() throws Exception {
    try (ProxyHarness proxy = proxy(null);
        LlmProxyClient systemTrust = client(proxy).build()) {
      assertThatThrownBy(() -> systemTrust.complete("who are you")).isInstanceOf(UnavailableException.class);
      assertThat(proxy.sim().recorder().started()).isZero();
    }
  }
}
