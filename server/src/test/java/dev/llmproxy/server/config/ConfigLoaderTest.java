package dev.llmproxy.server.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class ConfigLoaderTest {
  private final ConfigLoader loader = new ConfigLoader();

  @Test
  void parsesAFullConfig() {
    ProxyConfig config = loader.parse("""
        server:
          host: 0.0.0.0
          port: 6000
          max_request_bytes: 65536
          forward_headers: [x-request-id]
        routes:
          - name: chat
            models: [llama-3, mistral]
            default: true
            upstreams:
              - 10.0.0.5:7000
              - {name: gpu-b, address: "10.0.0.6:7000"}
            lb: round_robin
            max_tokens_limit: 8192
            default_max_tokens: 512
          - name: fleet
            models: ["*"]
            target: dns:///llm.internal:50051
          - name: demo
            models: [sim]
            simulated: {count: 2, ttft: 50ms, itl: 5ms}
        """);
    assertThat(config.server().port()).isEqualTo(6000);
    assertThat(config.server().forwardHeaders()).containsExactly("x-request-id");
    RouteConfig chat = config.routes().get(0);
    assertThat(chat.isDefault()).isTrue();
    assertThat(chat.lb()).isEqualTo(LbPolicy.ROUND_ROBIN);
    assertThat(chat.upstreams()).containsExactly(
        new UpstreamEndpoint("10.0.0.5:7000", "10.0.0.5:7000"), new UpstreamEndpoint("gpu-b", "10.0.0.6:7000"));
    assertThat(chat.maxTokensLimit()).isEqualTo(8192);
    assertThat(config.routes().get(1).target()).isEqualTo("dns:///llm.internal:50051");
    assertThat(config.routes().get(1).lb()).isEqualTo(LbPolicy.LEAST_OUTSTANDING);
    assertThat(config.routes().get(2).simulated().interTokenLatency()).isEqualTo(Duration.ofMillis(5));
  }

  @Test
  void defaultsMatchTheSpec() {
    ProxyConfig config = loader.parse("routes: [{name: r, default: true, upstreams: ['127.0.0.1:1']}]");
    assertThat(config.server().host()).isEqualTo("127.0.0.1");
    assertThat(config.server().port()).isEqualTo(50051);
    assertThat(config.routes().get(0).maxTokensLimit()).isEqualTo(4096);
    assertThat(config.routes().get(0).healthCheck()).isTrue();
  }

  @Test
  void rejectsUnknownSettingNamingItAndTheKnownOnes() {
    assertThatThrownBy(() -> loader.parse("routes: [{name: r, default: true, upstream: ['a:1']}]"))
        .isInstanceOf(ConfigException.class)
        .hasMessageStartingWith("routes[0]")
        .hasMessageContaining("exactly one of upstreams");
    assertThatThrownBy(() -> loader.parse("""
        server: {prot: 1}
        routes: [{name: r, default: true, upstreams: ['a:1']}]
        """))
        .hasMessageStartingWith("server.prot: unknown setting (expected one of:")
        .hasMessageContaining("port");
  }

  @Test
  void rejectsBadValuesWithFieldValueAndExpectation() {
    assertThatThrownBy(() -> loader.parse("routes: [{name: r, default: true, upstreams: ['a:1'], lb: rr}]"))
        .hasMessage("routes[0].lb: \"rr\" (expected: one of least_outstanding, round_robin, pick_first, peak_ewma, prefix_affinity, least_loaded)");
    assertThatThrownBy(() -> loader.parse("routes: [{name: r, default: true, upstreams: ['nohost']}]"))
        .hasMessage("routes[0].upstreams[0]: \"nohost\" (expected: host:port with a port from 1 to 65535)");
    assertThatThrownBy(() -> loader.parse("routes: [{name: r, default: true, upstreams: ['a:1'], max_tokens_limit: -5}]"))
        .hasMessage("routes[0].max_tokens_limit: -5 (expected: an integer from 1 to 1048576)");
    assertThatThrownBy(() -> loader.parse("server: {port: 70000}\nroutes: [{name: r, default: true, upstreams: ['a:1']}]"))
        .hasMessage("server.port: 70000 (expected: an integer from 0 to 65535)");
    assertThatThrownBy(() -> loader.parse("routes: [{name: r, default: true, target: 'http://x:1'}]"))
        .hasMessage("routes[0].target: \"http://x:1\" (expected: dns:///host:port)");
    assertThatThrownBy(() -> loader.parse("routes: [{name: r, default: true, simulated: {itl: fast}}]"))
        .hasMessage("routes[0].simulated.itl: \"fast\" (expected: a duration such as 250ms, 30s, 5m or 0)");
  }

  @Test
  void refusesToForwardCredentialHeaders() {
    assertThatThrownBy(() -> loader.parse("""
        server: {forward_headers: [x-request-id, x-api-key]}
        routes: [{name: r, default: true, upstreams: ['a:1']}]
        """)).hasMessageStartingWith("server.forward_headers[1]: \"x-api-key\" (expected: a lower-case ASCII header");
    assertThatThrownBy(() -> loader.parse("""
        server: {forward_headers: [x-team-key]}
        routes: [{name: r, default: true, upstreams: ['a:1']}]
        auth: {header: x-team-key, anonymous_tier: free}
        quota: {tiers: [{name: free, requests: 10}]}
        """)).hasMessageStartingWith("server.forward_headers: \"x-team-key\" (expected: no credential header");
  }

  @Test
  void rejectsConflictingRoutes() {
    assertThatThrownBy(() -> loader.parse("""
        routes:
          - {name: a, models: [m], upstreams: ['x:1']}
          - {name: b, models: [m], upstreams: ['x:2']}
        """)).hasMessage("routes[1].models: \"m\" (expected: a model no other route serves; route 'a' already serves it)");
    assertThatThrownBy(() -> loader.parse("""
        routes:
          - {name: a, default: true, upstreams: ['x:1']}
          - {name: a, models: [n], upstreams: ['x:2']}
        """)).hasMessageStartingWith("routes[1].name: \"a\"");
    assertThatThrownBy(() -> loader.parse("""
        routes:
          - {name: a, default: true, upstreams: ['x:1']}
          - {name: b, default: true, upstreams: ['x:2']}
        """)).hasMessageContaining("at most one default route; route 'a' is already the default");
    assertThatThrownBy(() -> loader.parse("server: {}")).hasMessage("routes: missing (expected: at least one route)");
  }

  @Test
  void reportsYamlSyntaxErrorsWithPosition() {
    assertThatThrownBy(() -> loader.parse("routes: [\n  {name: a\n"))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("not valid YAML at line");
    assertThatThrownBy(() -> loader.parse("server: {port: 1, port: 2}"))
        .isInstanceOf(ConfigException.class).hasMessageContaining("not valid YAML");
  }

  @Test
  void reportsMissingFilesAndTlsFiles() {
    assertThatThrownBy(() -> loader.load(Path.of("/nonexistent/llmproxy.yaml")))
        .hasMessage("/nonexistent/llmproxy.yaml: no such file");
    assertThatThrownBy(() -> loader.parse("""
        server: {tls: {cert: /nonexistent/cert.pem, key: /nonexistent/key.pem}}
        routes: [{name: r, default: true, upstreams: ['a:1']}]
        """)).hasMessage("server.tls.cert: \"/nonexistent/cert.pem\" (expected: a path to a readable PEM file)");
  }
}
