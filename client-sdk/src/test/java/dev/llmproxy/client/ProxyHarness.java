package dev.llmproxy.client;

import dev.llmproxy.server.ProxyServer;
import dev.llmproxy.server.config.LbPolicy;
import dev.llmproxy.server.config.ProxyConfig;
import dev.llmproxy.server.config.RouteConfig;
import dev.llmproxy.server.config.ServerConfig;
import dev.llmproxy.server.config.UpstreamEndpoint;
import dev.llmproxy.sim.SimulatedBackend;
import dev.llmproxy.sim.SimulatedBackendConfig;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;

/**
 * A real llmproxy on an ephemeral loopback port in front of simulated upstreams, for end-to-end tests
 * of the client. The route serves the model {@value #MODEL} and is the default route.
 */
final class ProxyHarness implements AutoCloseable {
  static final String MODEL = "sim";

  final List<SimulatedBackend> sims;
  final ProxyServer proxy;

  private ProxyHarness(List<SimulatedBackend> sims, ProxyServer proxy) {
    this.sims = sims;
    this.proxy = proxy;
  }

  static ProxyHarness start(int count) throws IOException {
    return start(count, c -> c, ServerConfig.defaults().withAddress("127.0.0.1", 0));
  }

  static ProxyHarness start(int count, UnaryOperator<SimulatedBackendConfig> sim) throws IOException {
    return start(count, sim, ServerConfig.defaults().withAddress("127.0.0.1", 0));
  }

  static ProxyHarness start(int count, UnaryOperator<SimulatedBackendConfig> sim, ServerConfig listener)
      throws IOException {
    return start(count, sim, listener, r -> r);
  }

  static ProxyHarness start(int count, UnaryOperator<SimulatedBackendConfig> sim, ServerConfig listener,
      UnaryOperator<RouteConfig> routeOp) throws IOException {
    List<SimulatedBackend> sims = new ArrayList<>();
    List<UpstreamEndpoint> endpoints = new ArrayList<>();
    try {
      for (int i = 0; i < count; i++) {
        SimulatedBackend backend = SimulatedBackend.start("127.0.0.1", 0,
            sim.apply(SimulatedBackendConfig.defaults("sim-" + i)));
        sims.add(backend);
        endpoints.add(new UpstreamEndpoint(backend.name(), backend.address()));
      }
      RouteConfig route = routeOp.apply(
          RouteConfig.forUpstreams(endpoints, LbPolicy.ROUND_ROBIN).withModels(List.of(MODEL)));
      return new ProxyHarness(sims, ProxyServer.start(new ProxyConfig(listener, List.of(route))));
    } catch (IOException | RuntimeException e) {
      sims.forEach(SimulatedBackend::close);
      throw e;
    }
  }

  SimulatedBackend sim() {
    return sims.get(0);
  }

  String target() {
    return "127.0.0.1:" + proxy.port();
  }

  /** A plaintext client builder for this proxy, bounded by a 20 s deadline per call. */
  LlmProxyClient.Builder client() {
    return LlmProxyClient.builder(target()).usePlaintext().defaultDeadline(Duration.ofSeconds(20));
  }

  @Override
  public void close() {
    proxy.close();
    sims.forEach(SimulatedBackend::close);
  }
}
