package dev.llmproxy.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.llmproxy.server.config.LbPolicy;
import dev.llmproxy.server.config.ProxyConfig;
import dev.llmproxy.server.config.RouteConfig;
import dev.llmproxy.server.config.ServerConfig;
import dev.llmproxy.server.config.TlsClientConfig;
import dev.llmproxy.server.config.TlsServerConfig;
import dev.llmproxy.server.config.UpstreamEndpoint;
import dev.llmproxy.sim.SimulatedBackend;
import dev.llmproxy.sim.SimulatedBackendConfig;
import dev.llmproxy.v1.Completion;
import dev.llmproxy.v1.CompletionRequest;
import dev.llmproxy.v1.LlmProxyGrpc;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.grpc.TlsChannelCredentials;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.testing.TlsTesting;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Mutual TLS on both legs: client =(mTLS)=> edge proxy =(mTLS)=> inner proxy => simulated upstream.
 * A proxy fronting a proxy also proves that llmproxy is a drop-in upstream of itself.
 */
@Timeout(30)
class TlsE2ETest {
  private static final String AUTHORITY = "foo.test.google.fr"; // a name the test certificates carry

  @TempDir Path dir;

  private Path pem(String name) throws IOException {
    Path file = dir.resolve(name);
    try (InputStream in = TlsTesting.loadCert(name)) {
      Files.copy(in, file);
    }
    return file;
  }

  @Test
  void completesOverMutualTlsOnBothLegsAndRefusesClientsWithoutACertificate() throws Exception {
    Path ca = pem("ca.pem");
    TlsServerConfig serverTls = new TlsServerConfig(pem("server1.pem"), pem("server1.key"), ca);
    TlsClientConfig upstreamTls = new TlsClientConfig(ca, pem("client.pem"), pem("client.key"), AUTHORITY);
    ServerConfig listener = new ServerConfig("127.0.0.1", 0, ServerConfig.DEFAULT_MAX_REQUEST_BYTES, true,
        serverTls, ServerConfig.DEFAULT_FORWARD_HEADERS);

    try (SimulatedBackend sim = SimulatedBackend.start("127.0.0.1", 0, SimulatedBackendConfig.defaults("sim"));
        ProxyServer inner = ProxyServer.start(new ProxyConfig(listener, List.of(RouteConfig.forUpstreams(
            List.of(new UpstreamEndpoint("sim", sim.address())), LbPolicy.ROUND_ROBIN))));
        ProxyServer edge = ProxyServer.start(new ProxyConfig(listener, List.of(RouteConfig.forUpstreams(
            List.of(new UpstreamEndpoint("inner", "127.0.0.1:" + inner.port())), LbPolicy.ROUND_ROBIN)
            .withTls(upstreamTls))))) {
      ManagedChannel mtls = NettyChannelBuilder.forAddress("127.0.0.1", edge.port(),
              TlsChannelCredentials.newBuilder().trustManager(ca.toFile())
                  .keyManager(dir.resolve("client.pem").toFile(), dir.resolve("client.key").toFile()).build())
          .overrideAuthority(AUTHORITY).build();
      ManagedChannel noClientCert = NettyChannelBuilder.forAddress("127.0.0.1", edge.port(),
              TlsChannelCredentials.newBuilder().trustManager(ca.toFile()).build())
          .overrideAuthority(AUTHORITY).build();
      try {
        Completion completion = LlmProxyGrpc.newBlockingStub(mtls).withDeadlineAfter(10, TimeUnit.SECONDS)
            .complete(CompletionRequest.newBuilder().setPrompt("secure hello").setMaxTokens(5).build());
        assertThat(completion.getUsage().getCompletionTokens()).isEqualTo(5);
        assertThat(sim.recorder().started()).isEqualTo(1);

        assertThatThrownBy(() -> LlmProxyGrpc.newBlockingStub(noClientCert).withDeadlineAfter(10, TimeUnit.SECONDS)
            .complete(CompletionRequest.newBuilder().setPrompt("no cert").build()))
            .isInstanceOf(StatusRuntimeException.class);
        assertThat(sim.recorder().started()).isEqualTo(1);
      } finally {
        mtls.shutdownNow();
        noClientCert.shutdownNow();
      }
    }
  }

  private static void copyCert(String name, Path to) throws IOException {
    try (InputStream in = TlsTesting.loadCert(name)) {
      Files.copy(in, to, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    }
  }

  private Completion completeOverTls(int port, Path ca) throws Exception {
    ManagedChannel channel = NettyChannelBuilder.forAddress("127.0.0.1", port,
            TlsChannelCredentials.newBuilder().trustManager(ca.toFile()).build())
        .overrideAuthority(AUTHORITY).build();
    try {
      return LlmProxyGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS)
          .complete(CompletionRequest.newBuilder().setPrompt("rotated").setMaxTokens(2).build());
    } finally {
      channel.shutdownNow();
    }
  }

  @Test
  void aReloadRereadsTheListenersRotatedCertificateAndAnUnreadableOneChangesNothing() throws Exception {
    Path ca = pem("ca.pem");
    // Started with a certificate for another name (server0: *.test.google.com.au), then renewed in
    // place with one for AUTHORITY (server1), as cert-manager renews a Secret.
    Path cert = dir.resolve("tls.crt");
    Path key = dir.resolve("tls.key");
    copyCert("server0.pem", cert);
    copyCert("server0.key", key);
    ServerConfig listener = new ServerConfig("127.0.0.1", 0, ServerConfig.DEFAULT_MAX_REQUEST_BYTES, true,
        new TlsServerConfig(cert, key, null), ServerConfig.DEFAULT_FORWARD_HEADERS);
    try (SimulatedBackend sim = SimulatedBackend.start("127.0.0.1", 0, SimulatedBackendConfig.defaults("sim"));
        ProxyServer proxy = ProxyServer.start(new ProxyConfig(listener, List.of(RouteConfig.forUpstreams(
            List.of(new UpstreamEndpoint("sim", sim.address())), LbPolicy.ROUND_ROBIN))))) {
      assertThatThrownBy(() -> completeOverTls(proxy.port(), ca)).as("the old certificate does not name AUTHORITY")
          .isInstanceOf(StatusRuntimeException.class);

      copyCert("server1.pem", cert);
      copyCert("server1.key", key);
      assertThat(proxy.reload().applied()).isTrue();
      assertThat(completeOverTls(proxy.port(), ca).getUsage().getCompletionTokens()).isEqualTo(2);

      Files.writeString(key, "not a key");
      var refused = proxy.reload();
      assertThat(refused.applied()).isFalse();
      assertThat(refused.error()).contains("server.tls", key.toString());
      assertThat(completeOverTls(proxy.port(), ca).getUsage().getCompletionTokens()).isEqualTo(2);
    }
  }

  @Test
  void aReloadRebuildsARouteWhoseTlsFilesChangedAndKeepsOneWhoseFilesDidNot() throws Exception {
    Path ca = pem("ca.pem");
    TlsClientConfig upstreamTls = new TlsClientConfig(ca, pem("client.pem"), pem("client.key"), AUTHORITY);
    try (ProxyServer proxy = ProxyServer.start(new ProxyConfig(ServerConfig.defaults().withAddress("127.0.0.1", 0),
        List.of(RouteConfig.forUpstreams(List.of(new UpstreamEndpoint("inner", "127.0.0.1:1")), LbPolicy.ROUND_ROBIN)
            .withTls(upstreamTls))))) {
      Object started = proxy.runtime().routes().routes().get(0);

      assertThat(proxy.reload().applied()).isTrue();
      assertThat(proxy.runtime().routes().routes().get(0)).as("files unchanged: channel kept").isSameAs(started);

      copyCert("server1.pem", ca); // another PEM certificate in place of the CA, as a rotated Secret
      assertThat(proxy.reload().applied()).isTrue();
      assertThat(proxy.runtime().routes().routes().get(0)).as("a rotated file: channel rebuilt").isNotSameAs(started);
    }
  }
}
