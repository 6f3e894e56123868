package dev.llmproxy.server;

import static dev.llmproxy.server.ProxyFixture.prompt;
import static org.assertj.core.api.Assertions.assertThat;

import dev.llmproxy.server.config.LbPolicy;
import dev.llmproxy.server.config.ProxyConfig;
import dev.llmproxy.server.config.RouteConfig;
import dev.llmproxy.server.config.ServerConfig;
import dev.llmproxy.server.config.UpstreamEndpoint;
import dev.llmproxy.v1.LlmProxyGrpc;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.assertj.core.api.Assertions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** An upstream address that never completes a TCP connection fails calls after the route's connect timeout. */
@Timeout(60)
class UpstreamConnectTimeoutE2ETest {

  @Test
  void anUpstreamThatNeverAcceptsTheConnectionFailsTheCallUnavailableAfterTheConnectTimeout() throws Exception {
    List<Socket> fill = new ArrayList<>();
    // A listener that never accepts, with its accept queue full: further connections hang in SYN.
    try (ServerSocket jammed = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      InetSocketAddress address = new InetSocketAddress(InetAddress.getLoopbackAddress(), jammed.getLocalPort());
      for (int i = 0; i < 16; i++) {
        Socket s = new Socket();
        try {
          s.connect(address, 300);
          fill.add(s);
        } catch (SocketTimeoutException full) {
          s.close();
          break;
        }
      }
      RouteConfig route = RouteConfig.forUpstreams(
          List.of(new UpstreamEndpoint("jammed", "127.0.0.1:" + jammed.getLocalPort())), LbPolicy.PICK_FIRST);
      route = route.withResilience(route.resilience().withConnectTimeout(Duration.ofMillis(500)));
      ProxyConfig config = new ProxyConfig(ServerConfig.defaults().withAddress("127.0.0.1", 0), List.of(route));
      try (ProxyServer proxy = ProxyServer.start(config)) {
        ManagedChannel channel = NettyChannelBuilder.forAddress("127.0.0.1", proxy.port()).usePlaintext().build();
        try {
          // Netty's own connect timeout (30 s) would outlast this deadline.
          StatusRuntimeException e = Assertions.catchThrowableOfType(StatusRuntimeException.class,
              () -> LlmProxyGrpc.newBlockingStub(channel).withDeadlineAfter(20, TimeUnit.SECONDS)
                  .complete(prompt("hello?", 2)));
          assertThat(e).isNotNull();
          assertThat(e.getStatus().getCode()).as(e.getStatus().toString()).isEqualTo(Status.Code.UNAVAILABLE);
        } finally {
          channel.shutdownNow();
        }
      }
    } finally {
      for (Socket s : fill) {
        s.close();
      }
    }
  }
}
