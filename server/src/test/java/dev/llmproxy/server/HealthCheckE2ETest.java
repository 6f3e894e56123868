package dev.llmproxy.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llmproxy.sim.SimulatedBackend;
import dev.llmproxy.sim.SimulatedBackendConfig;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The container health check against a real gRPC health service. */
@Timeout(30)
class HealthCheckE2ETest {
  private final ByteArrayOutputStream out = new ByteArrayOutputStream();
  private final ByteArrayOutputStream err = new ByteArrayOutputStream();

  private int run(String... args) {
    return HealthCheck.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8));
  }

  @Test
  void exitsZeroWhileTheServiceIsServingAndOneWhenItIsNot() throws Exception {
    try (SimulatedBackend sim = SimulatedBackend.start(SimulatedBackendConfig.defaults("sim"))) {
      assertThat(run(sim.address())).isZero();
      assertThat(out.toString(StandardCharsets.UTF_8)).contains("llmproxy.v1.LlmProxy", "SERVING");

      sim.setServing(false);
      assertThat(run(sim.address())).isEqualTo(1);
    }
  }

  @Test
  void exitsOneWhenNothingListens() throws Exception {
    int port;
    try (ServerSocket socket = new ServerSocket(0)) {
      port = socket.getLocalPort();
    }
    assertThat(run("127.0.0.1:" + port)).isEqualTo(1);
    assertThat(err.toString(StandardCharsets.UTF_8)).contains("UNAVAILABLE");
  }

  @Test
  void exitsTwoForABadAddress() {
    assertThat(run("no-port")).isEqualTo(2);
    assertThat(run()).isEqualTo(2);
    assertThat(err.toString(StandardCharsets.UTF_8)).contains("expected: host:port", "usage:");
  }
}
