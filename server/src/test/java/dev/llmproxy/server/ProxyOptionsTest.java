package dev.llmproxy.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.llmproxy.server.config.ConfigException;
import dev.llmproxy.server.config.LbPolicy;
import dev.llmproxy.server.config.ProxyConfig;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class ProxyOptionsTest {

  @Test
  void noFlagsMeansTheDemo() {
    ProxyConfig config = Main.configure(ProxyOptions.parse(new String[0]));
    assertThat(config.server().host()).isEqualTo("127.0.0.1");
    assertThat(config.server().port()).isEqualTo(50051);
    assertThat(config.routes()).singleElement().satisfies(r -> {
      assertThat(r.simulated().count()).isEqualTo(3);
      assertThat(r.lb()).isEqualTo(LbPolicy.LEAST_OUTSTANDING);
      assertThat(r.isDefault()).isTrue();
    });
  }

  @Test
  void upstreamsFlagBuildsOneDefaultRoute() {
    ProxyConfig config = Main.configure(ProxyOptions.parse(
        new String[] {"--upstreams", "127.0.0.1:7001,127.0.0.1:7002", "--lb", "round_robin", "--port=0"}));
    assertThat(config.server().port()).isZero();
    assertThat(config.routes()).singleElement().satisfies(r -> {
      assertThat(r.upstreams()).hasSize(2);
      assertThat(r.lb()).isEqualTo(LbPolicy.ROUND_ROBIN);
    });
  }

  @Test
  void upstreamsFlagReplacesAFilesRoutesTogetherWithItsSplits(@org.junit.jupiter.api.io.TempDir Path dir)
      throws Exception {
    Path file = dir.resolve("llmproxy.yaml");
    Files.writeString(file, """
        routes:
          - {name: a, models: [ma], upstreams: ['h:1'], fallbacks: [b]}
          - {name: b, models: [mb], upstreams: ['h:2']}
        splits: [{model: m, routes: [{route: a}, {route: b}]}]
        """);

    ProxyConfig config = Main.configure(ProxyOptions.parse(
        new String[] {"--config", file.toString(), "--upstreams", "127.0.0.1:7001"}));

    assertThat(config.routes()).singleElement().satisfies(r -> assertThat(r.fallbacks()).isEmpty());
    assertThat(config.splits()).isEmpty();
  }

  @Test
  void badFlagsAreRefusedWithAPreciseMessage() {
    assertThatThrownBy(() -> ProxyOptions.parse(new String[] {"--port", "x"}))
        .isInstanceOf(ConfigException.class).hasMessage("--port: \"x\" (expected: a port from 0 to 65535)");
    assertThatThrownBy(() -> ProxyOptions.parse(new String[] {"--upstreams", "a:1,b"}))
        .hasMessage("--upstreams: \"b\" (expected: host:port with a port from 1 to 65535)");
    assertThatThrownBy(() -> ProxyOptions.parse(new String[] {"--upstreams", "a:1", "--lb", "random"}))
        .hasMessage("--lb: \"random\" (expected: one of least_outstanding, round_robin, pick_first, peak_ewma, prefix_affinity, least_loaded)");
    assertThatThrownBy(() -> ProxyOptions.parse(new String[] {"--frobnicate", "1"}))
        .hasMessageStartingWith("--frobnicate: unknown flag");
    assertThatThrownBy(() -> ProxyOptions.parse(new String[] {"--port"}))
        .hasMessage("--port: missing value (expected: a port from 0 to 65535)");
  }

  @Test
  void versionPrintsTheVersionAndUnknownFlagsSaySo() {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    int code = Main.run(new String[] {"--version"}, new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(new ByteArrayOutputStream()));
    assertThat(code).isZero();
    assertThat(out.toString(StandardCharsets.UTF_8)).startsWith("llmproxy ").doesNotContain("missing value");
    // A flag that is not one of ours is unknown, whether or not a value follows it.
    assertThatThrownBy(() -> ProxyOptions.parse(new String[] {"--verbose"}))
        .hasMessageStartingWith("--verbose: unknown flag");
    assertThatThrownBy(() -> ProxyOptions.parse(new String[] {"--frobnicate=1"}))
        .hasMessageStartingWith("--frobnicate: unknown flag");
  }

  @Test
  void aMetricsPortInUseIsNamedAsTheOneThatFailed() throws Exception {
    try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      Path config = Files.createTempFile("llmproxy-metrics-port-", ".yaml");
      try {
        Files.writeString(config, "server: {host: 127.0.0.1, port: 0}\n"
            + "routes: [{name: r, default: true, upstreams: [\"127.0.0.1:1\"]}]\n"
            + "observability: {metrics: {host: 127.0.0.1, port: " + taken.getLocalPort() + "}}\n");
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = Main.run(new String[] {"--config", config.toString()},
            new PrintStream(new ByteArrayOutputStream()), new PrintStream(err, true, StandardCharsets.UTF_8));
        assertThat(code).isEqualTo(1);
        assertThat(err.toString(StandardCharsets.UTF_8))
            .contains("metrics endpoint 127.0.0.1:" + taken.getLocalPort())
            .doesNotContain("127.0.0.1:0");
      } finally {
        Files.deleteIfExists(config);
      }
    }
  }

  @Test
  void badConfigExitsNonZeroWithoutStarting() {
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int code = Main.run(new String[] {"--config", "/nonexistent.yaml"},
        new PrintStream(new ByteArrayOutputStream()), new PrintStream(err, true, StandardCharsets.UTF_8));
    assertThat(code).isEqualTo(2);
    assertThat(err.toString(StandardCharsets.UTF_8))
        .contains("llmproxy: /nonexistent.yaml: no such file").doesNotContain("Exception");
  }
}
