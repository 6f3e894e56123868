package dev.llmproxy.server.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class OpenAiConfigTest {
  @TempDir Path dir;

  private static RouteConfig route(String settings) {
    return new ConfigLoader().parse("""
        routes:
          - name: chat
            models: [llama]
        """ + settings.indent(4)).routes().get(0);
  }

  private static String error(String settings) {
    try {
      route(settings);
    } catch (ConfigException e) {
      return e.getMessage();
    }
    throw new AssertionError("expected a config error");
  }

  @Test
  void readsAnOpenAiRouteWithEverySetting() {
    RouteConfig route = route("""
        protocol: openai
        upstreams: [http://10.0.0.5:8000/, {name: hosted, address: "https://api.example.com/v1"}]
        upstream_model: meta-llama/Meta-Llama-3-8B-Instruct
        api_key: {env: OPENAI_API_KEY}
        health_check: {path: /v1/models, interval: 5s, timeout: 2s}
        connect_timeout: 1s
        http: {max_connections: 64, version: http1}
        """);
    assertThat(route.protocol()).isEqualTo(UpstreamProtocol.OPENAI);
    assertThat(route.upstreams()).containsExactly(
        new UpstreamEndpoint("http://10.0.0.5:8000", "http://10.0.0.5:8000"),
        new UpstreamEndpoint("hosted", "https://api.example.com/v1"));
    OpenAiSettings openai = route.openai();
    assertThat(openai.upstreamModel()).isEqualTo("meta-llama/Meta-Llama-3-8B-Instruct");
    assertThat(openai.apiKey()).hasToString("{env: OPENAI_API_KEY}");
    assertThat(openai.healthPath()).isEqualTo("/v1/models");
    assertThat(openai.healthInterval()).isEqualTo(Duration.ofSeconds(5));
    assertThat(route.resilience().connectTimeout()).isEqualTo(Duration.ofSeconds(1));
    assertThat(openai.maxConnections()).isEqualTo(64);
    assertThat(openai.httpVersion()).isEqualTo(OpenAiSettings.HttpVersion.HTTP1);
    assertThat(route.healthCheck()).isTrue();
  }

  @Test
  void grpcIsTheDefaultProtocolAndHasNoOpenAiSettings() {
    RouteConfig route = route("upstreams: [127.0.0.1:7001]");
    assertThat(route.protocol()).isEqualTo(UpstreamProtocol.GRPC);
    assertThat(route.openai()).isNull();
  }

  @Test
  void aDnsTargetTakesASchemeAndBasePath() {
    RouteConfig route = route("""
        protocol: openai
        target: dns:///vllm.llm.svc.cluster.local:8000
        scheme: https
        base_path: /api/
        health_check: false
        """);
    assertThat(route.openai().scheme()).isEqualTo("https");
    assertThat(route.openai().basePath()).isEqualTo("/api");
    assertThat(route.healthCheck()).isFalse();
  }

  @Test
  void refusesWhatIsNotAnHttpUrl() {
    assertThat(error("protocol: openai\nupstreams: [10.0.0.5:8000]"))
        .startsWith("routes[0].upstreams[0]: \"10.0.0.5:8000\" (expected: an http:// or https:// URL");
    assertThat(error("protocol: openai\nupstreams: [\"ftp://x:1\"]")).startsWith("routes[0].upstreams[0]:");
    assertThat(error("protocol: openai\nupstreams: [\"http://x:8000/v1?key=1\"]")).startsWith("routes[0].upstreams[0]:");
    assertThat(error("protocol: openai\nupstreams: [{name: a, address: \"http://\"}]"))
        .startsWith("routes[0].upstreams[0].address:");
  }

  @Test
  void refusesAKeyWrittenInTheFileAndNeverRepeatsIt() {
    assertThat(error("protocol: openai\nupstreams: [\"http://x:1\"]\napi_key: sk-live-secret"))
        .startsWith("routes[0].api_key:").contains("{env: VARIABLE} or {file: /path}").doesNotContain("sk-live");
    assertThat(error("protocol: openai\nupstreams: [\"http://x:1\"]\napi_key: {env: A, file: /b}"))
        .startsWith("routes[0].api_key:");
  }

  @Test
  void refusesOpenAiSettingsOnAGrpcRouteAndTlsOnAnOpenAiRoute() {
    // upstream_model is a setting of every route now (the model sent upstream); api_key stays OpenAI's.
    assertThat(error("upstreams: [127.0.0.1:7001]\napi_key: {env: K}")).contains("routes[0].api_key: unknown setting");
    assertThat(error("protocol: openai\nupstreams: [\"https://x:1\"]\ntls: {ca: /ca.pem}")).startsWith("routes[0].tls:");
    assertThat(error("protocol: grpc\nupstreams: [127.0.0.1:7001]\nhealth_check: {path: /health}"))
        .startsWith("routes[0].health_check:");
  }

  @Test
  void aSecretResolvesFromTheEnvironmentOrAFileAndSaysWhichSettingIsMissing() throws Exception {
    SecretRef env = new SecretRef("routes[0].api_key", "LLM_KEY", null);
    assertThat(env.resolve(Map.of("LLM_KEY", "sk-1"))).isEqualTo("sk-1");
    assertThatThrownBy(() -> env.resolve(Map.of())).isInstanceOf(ConfigException.class)
        .hasMessage("routes[0].api_key.env: \"LLM_KEY\" (expected: an environment variable that is set and not empty)");

    Path file = dir.resolve("key");
    Files.writeString(file, "sk-2\n");
    assertThat(new SecretRef("routes[0].api_key", null, file).resolve(Map.of())).isEqualTo("sk-2");
    SecretRef missing = new SecretRef("routes[0].api_key", null, dir.resolve("absent"));
    assertThatThrownBy(() -> missing.resolve(Map.of())).isInstanceOf(ConfigException.class)
        .hasMessageStartingWith("routes[0].api_key.file: \"" + dir.resolve("absent") + "\" (expected: a readable file");
  }
}
