package dev.llmproxy.server;

import static dev.llmproxy.server.ProxyFixture.prompt;
import static org.assertj.core.api.Assertions.assertThat;

import dev.llmproxy.server.config.LbPolicy;
import dev.llmproxy.server.config.ProxyConfig;
import dev.llmproxy.server.config.RouteConfig;
import dev.llmproxy.server.config.ServerConfig;
import dev.llmproxy.server.config.UpstreamEndpoint;
import dev.llmproxy.sim.SimulatedBackend;
import dev.llmproxy.sim.SimulatedBackendConfig;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.net.SocketAddress;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The listener's connection settings, seen from a client over real sockets. */
@Timeout(60)
class ConnectionSettingsE2ETest {

  @Test
  void maxConnectionAgeMovesClientsToNewConnectionsWithoutFailingACall() throws Exception {
    try (SimulatedBackend sim = SimulatedBackend.start("127.0.0.1", 0,
        SimulatedBackendConfig.defaults("sim-0").withInterTokenLatency(Duration.ofMillis(20)))) {
      ServerConfig server = ServerConfig.defaults().withAddress("127.0.0.1", 0);
      server = server.withResilience(server.resilience().withMaxConnectionAge(Duration.ofSeconds(1), Duration.ofSeconds(30)));
      ProxyConfig config = new ProxyConfig(server, List.of(RouteConfig.forUpstreams(
          List.of(new UpstreamEndpoint(sim.name(), sim.address())), LbPolicy.LEAST_OUTSTANDING)));
      try (ProxyServer proxy = ProxyServer.start(config)) {
        ManagedChannel channel = NettyChannelBuilder.forAddress("127.0.0.1", proxy.port()).usePlaintext().build();
        try {
          // A stream that outlives its connection's age finishes within the age grace.
          StreamProbe longStream = StreamProbe.start(channel, prompt("a long one", 120), Duration.ofSeconds(20));
          Set<SocketAddress> connections = new HashSet<>();
          long until = System.nanoTime() + Duration.ofMillis(3500).toNanos();
          int calls = 0;
          while (System.nanoTime() < until) {
            StreamProbe.Result r = StreamProbe.start(channel, prompt("short " + calls++, 3), Duration.ofSeconds(10))
                .await(Duration.ofSeconds(10));
            assertThat(r.ok()).as(r.status().toString()).isTrue();
            connections.add(r.localAddress());
            Thread.sleep(50);
          }
          StreamProbe.Result longResult = longStream.await(Duration.ofSeconds(10));
          assertThat(longResult.ok()).as(longResult.status().toString()).isTrue();
          assertThat(longResult.chunks()).isEqualTo(120);
          assertThat(connections).as("client connections over 3.5 s with a 1 s age").hasSizeGreaterThanOrEqualTo(2);
        } finally {
          channel.shutdownNow();
        }
      }
    }
  }
}
