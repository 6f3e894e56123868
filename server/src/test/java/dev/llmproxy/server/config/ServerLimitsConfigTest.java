package dev.llmproxy.server.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class ServerLimitsConfigTest {
  private final ConfigLoader loader = new ConfigLoader();

  private ServerLimits limits(String server) {
    return loader.parse("server: {" + server + "}\nroutes: [{name: r, default: true, upstreams: ['a:1']}]")
        .server().limits();
  }

  @Test
  void defaultsCapStreamsResetsAndUnfinishedRequestBytes() {
    ServerLimits d = limits("port: 0");
    assertThat(d).isEqualTo(ServerLimits.defaults());
    assertThat(d.maxConcurrentStreams()).isEqualTo(1000);
    assertThat(d.maxResets()).isEqualTo(200);
    assertThat(d.resetWindow()).isEqualTo(Duration.ofSeconds(10));
    assertThat(d.maxIncompleteRequestBytes()).isEqualTo(64L << 20);
    assertThat(d.maxIncompleteRequestBytesPerConnection()).isEqualTo(16L << 20);
  }

  @Test
  void parsesEverySetting() {
    ServerLimits l = limits("max_concurrent_streams: 3000, rapid_reset: {max_resets: 0, window: 30s}, "
        + "max_incomplete_request_bytes: 1048576");
    // The per-connection share defaults to at most the whole budget.
    assertThat(l).isEqualTo(new ServerLimits(3000, 0, Duration.ofSeconds(30), 1 << 20, 1 << 20));
    assertThat(limits("max_incomplete_request_bytes_per_connection: 4096").maxIncompleteRequestBytesPerConnection())
        .isEqualTo(4096);
  }

  @Test
  void refusesBadValuesNamingTheSetting() {
    assertThatThrownBy(() -> limits("max_concurrent_streams: 0")).isInstanceOf(ConfigException.class)
        .hasMessageStartingWith("server.max_concurrent_streams: 0");
    assertThatThrownBy(() -> limits("rapid_reset: {window: 1500ms}")).isInstanceOf(ConfigException.class)
        .hasMessageStartingWith("server.rapid_reset.window: ");
    assertThatThrownBy(() -> limits("rapid_reset: {resets: 5}")).isInstanceOf(ConfigException.class)
        .hasMessageContaining("server.rapid_reset.resets");
    assertThatThrownBy(() -> limits("max_incomplete_request_bytes: 10")).isInstanceOf(ConfigException.class)
        .hasMessageStartingWith("server.max_incomplete_request_bytes: 10");
  }
}
