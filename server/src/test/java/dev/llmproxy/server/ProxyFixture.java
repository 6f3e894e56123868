package dev.llmproxy.server;

import dev.llmproxy.server.config.LbPolicy;
import dev.llmproxy.server.config.ProxyConfig;
import dev.llmproxy.server.config.RouteConfig;
import dev.llmproxy.server.config.ServerConfig;
import dev.llmproxy.server.config.UpstreamEndpoint;
import dev.llmproxy.sim.SimulatedBackend;
import dev.llmproxy.sim.SimulatedBackendConfig;
import dev.llmproxy.v1.CompletionRequest;
import dev.llmproxy.v1.LlmProxyGrpc;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.UnaryOperator;

/**
 * A proxy on an ephemeral loopback port in front of simulated upstreams, with a client channel to
 * it: the real sockets of an end-to-end test.
 */
final class ProxyFixture implements AutoCloseable {
  final List<SimulatedBackend> upstreams;
  final ProxyServer proxy;
  final ManagedChannel channel;
  final SimpleMeterRegistry meters;

  private ProxyFixture(List<SimulatedBackend> upstreams, ProxyServer proxy, ManagedChannel channel,
      SimpleMeterRegistry meters) {
    this.upstreams = upstreams;
    this.proxy = proxy;
    this.channel = channel;
    this.meters = meters;
  }

  static ProxyFixture start(int count, LbPolicy lb) throws IOException {
    return start(count, lb, c -> c, r -> r);
  }

  static ProxyFixture start(int count, LbPolicy lb, UnaryOperator<SimulatedBackendConfig> sim,
      UnaryOperator<RouteConfig> route) throws IOException {
    return start(count, lb, sim, route, c -> c);
  }

  /** As above, with the whole proxy config changed by {@code proxyConfig} last. */
  static ProxyFixture start(int count, LbPolicy lb, UnaryOperator<SimulatedBackendConfig> sim,
      UnaryOperator<RouteConfig> route, UnaryOperator<ProxyConfig> proxyConfig) throws IOException {
    List<SimulatedBackend> sims = new ArrayList<>();
    List<UpstreamEndpoint> endpoints = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      SimulatedBackend backend = SimulatedBackend.start("127.0.0.1", 0,
          sim.apply(SimulatedBackendConfig.defaults("sim-" + i)));
      sims.add(backend);
      endpoints.add(new UpstreamEndpoint(backend.name(), backend.address()));
    }
    ProxyConfig config = proxyConfig.apply(new ProxyConfig(ServerConfig.defaults().withAddress("127.0.0.1", 0),
        List.of(route.apply(RouteConfig.forUpstreams(endpoints, lb)))));
    SimpleMeterRegistry meters = new SimpleMeterRegistry();
    ProxyServer proxy = ProxyServer.start(config, meters);
    ManagedChannel channel = NettyChannelBuilder.forAddress("127.0.0.1", proxy.port()).usePlaintext().build();
    return new ProxyFixture(sims, proxy, channel, meters);
  }

  LlmProxyGrpc.LlmProxyBlockingStub blocking() {
    return LlmProxyGrpc.newBlockingStub(channel).withDeadlineAfter(20, TimeUnit.SECONDS);
  }

  LlmProxyGrpc.LlmProxyStub async() {
    return LlmProxyGrpc.newStub(channel);
  }

  static CompletionRequest prompt(String text, int maxTokens) {
    return CompletionRequest.newBuilder().setPrompt(text).setMaxTokens(maxTokens).build();
  }

  /** Polls {@code condition} until it holds or {@code timeout} passes; returns whether it held. */
  static boolean eventually(Duration timeout, BooleanSupplier condition) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      if (condition.getAsBoolean()) {
        return true;
      }
      Thread.sleep(10);
    }
    return condition.getAsBoolean();
  }

  @Override
  public void close() {
    channel.shutdownNow();
    proxy.close();
    for (SimulatedBackend sim : upstreams) {
      sim.close();
    }
  }
}
