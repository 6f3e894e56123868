package dev.llmproxy.server;

import dev.llmproxy.server.config.SimulatedUpstreams;
import dev.llmproxy.server.config.UpstreamEndpoint;
import dev.llmproxy.server.config.UpstreamProtocol;
import dev.llmproxy.sim.SimulatedBackend;
import dev.llmproxy.sim.SimulatedBackendConfig;
import dev.llmproxy.sim.openai.OpenAiSimulatedBackend;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * Simulated backends started inside the proxy process, on loopback ports chosen by the OS: gRPC
 * ones, or OpenAI-compatible HTTP ones for a route with {@code protocol: openai}.
 */
public final class EmbeddedUpstreams implements AutoCloseable {
  private final List<SimulatedBackend> backends = new ArrayList<>();
  private final List<OpenAiSimulatedBackend> openAiBackends = new ArrayList<>();

  /** Starts the backends of one route and returns them as upstream endpoints named {@code route-sim-N}. */
  List<UpstreamEndpoint> start(String route, SimulatedUpstreams spec, UpstreamProtocol protocol) throws IOException {
    List<UpstreamEndpoint> endpoints = new ArrayList<>();
    for (int i = 1; i <= spec.count(); i++) {
      SimulatedBackendConfig config = SimulatedBackendConfig.defaults(route + "-sim-" + i)
          .withTimeToFirstToken(spec.timeToFirstToken())
          .withInterTokenLatency(spec.interTokenLatency())
          .withJitter(spec.jitter())
          .withSeed(i) // reproducible, and not the same jitter on every backend
          .withMaxConcurrency(spec.maxConcurrency());
      if (protocol == UpstreamProtocol.OPENAI) {
        OpenAiSimulatedBackend backend = OpenAiSimulatedBackend.start("127.0.0.1", 0, config);
        openAiBackends.add(backend);
        endpoints.add(new UpstreamEndpoint(backend.name(), backend.baseUrl()));
        continue;
      }
      SimulatedBackend backend = SimulatedBackend.start("127.0.0.1", 0, config);
      backends.add(backend);
      endpoints.add(new UpstreamEndpoint(backend.name(), backend.address()));
    }
    return endpoints;
  }

  public List<SimulatedBackend> backends() {
    return List.copyOf(backends);
  }

  /** The OpenAI-compatible ones. */
  public List<OpenAiSimulatedBackend> openAiBackends() {
    return List.copyOf(openAiBackends);
  }

  @Override
  public void close() {
    backends.forEach(SimulatedBackend::close);
    openAiBackends.forEach(OpenAiSimulatedBackend::close);
  }
}
