package dev.llmproxy.server;

import dev.llmproxy.server.config.SimulatedUpstreams;
import dev.llmproxy.server.config.UpstreamEndpoint;
import dev.llmproxy.sim.SimulatedBackend;
import dev.llmproxy.sim.SimulatedBackendConfig;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/** Simulated backends started inside the proxy process, on loopback ports chosen by the OS. */
public final class EmbeddedUpstreams implements AutoCloseable {
  private final List<SimulatedBackend> backends = new ArrayList<>();

  /** Starts the backends of one route and returns them as upstream endpoints named {@code route-sim-N}. */
  List<UpstreamEndpoint> start(String route, SimulatedUpstreams spec) throws IOException {
    List<UpstreamEndpoint> endpoints = new ArrayList<>();
    for (int i = 1; i <= spec.count(); i++) {
      SimulatedBackendConfig config = SimulatedBackendConfig.defaults(route + "-sim-" + i)
          .withTimeToFirstToken(spec.timeToFirstToken())
          .withInterTokenLatency(spec.interTokenLatency())
          .withJitter(spec.jitter())
          .withMaxConcurrency(spec.maxConcurrency());
      SimulatedBackend backend = SimulatedBackend.start("127.0.0.1", 0, config);
      backends.add(backend);
      endpoints.add(new UpstreamEndpoint(backend.name(), backend.address()));
    }
    return endpoints;
  }

  public List<SimulatedBackend> backends() {
    return List.copyOf(backends);
  }

  @Override
  public void close() {
    for (SimulatedBackend backend : backends) {
      backend.close();
    }
  }
}
