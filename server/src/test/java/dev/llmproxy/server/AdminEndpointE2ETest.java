package dev.llmproxy.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llmproxy.server.observability.Observability;
import dev.llmproxy.server.reload.FileConfigSource;
import dev.llmproxy.sim.SimulatedBackend;
import dev.llmproxy.sim.SimulatedBackendConfig;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The admin endpoint on the metrics port: effective config (redacted), route states, reload. */
@Timeout(60)
class AdminEndpointE2ETest {
  private static final String KEY_HASH = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

  @TempDir Path dir;
  private Path file;
  private SimulatedBackend sim;
  private ProxyServer proxy;
  private final HttpClient http = HttpClient.newHttpClient();

  @BeforeEach
  void start() throws Exception {
    sim = SimulatedBackend.start("127.0.0.1", 0, SimulatedBackendConfig.defaults("gpu-a"));
    file = dir.resolve("llmproxy.yaml");
  }

  @AfterEach
  void stop() {
    if (proxy != null) {
      proxy.close();
    }
    sim.close();
  }

  private String config(String admin) {
    return "server: {host: 127.0.0.1, port: 0}\n"
        + "routes: [{name: chat, default: true, models: [m], upstreams: [{name: gpu-a, address: \"" + sim.address()
        + "\"}]}]\n"
        + "auth:\n  keys:\n    - {id: team-a, sha256: " + KEY_HASH + "}\n    - {id: laptop, plaintext_dev_only: let-me-in}\n"
        + "quota: {redis: {uri: \"redis://user:hunter2@127.0.0.1:6379\"}}\n"
        + "observability: {metrics: {host: 127.0.0.1, port: 0}}\n"
        + admin;
  }

  private void startProxy(String yaml) throws Exception {
    Files.writeString(file, yaml);
    FileConfigSource source = new FileConfigSource(file, c -> c);
    var loaded = source.load();
    proxy = ProxyServer.start(loaded, source, Observability.registryFor(loaded.config().observability()));
  }

  private HttpResponse<String> send(String method, String path) throws Exception {
    HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + proxy.metricsPort() + path))
        .method(method, HttpRequest.BodyPublishers.noBody()).build();
    return http.send(request, HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void showsTheEffectiveConfigWithSecretsRedacted() throws Exception {
    startProxy(config("admin: {enabled: true}\n"));

    HttpResponse<String> response = send("GET", "/admin/config");

    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(response.body()).contains("\"hash\" : \"" + proxy.runtime().hash() + "\"", "team-a", "chat",
        "<redacted>").doesNotContain(KEY_HASH, "hunter2");
  }

  @Test
  void showsRoutesAndUpstreamStates() throws Exception {
    startProxy(config("admin: {enabled: true}\n"));

    HttpResponse<String> response = send("GET", "/admin/routes");

    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(response.body()).contains("\"name\" : \"chat\"", "\"name\" : \"gpu-a\"", "\"in_flight\"",
        "\"healthy\"", "\"ejected\" : false");
  }

  @Test
  void aPostReloadsAndABadFileIsRefusedWithTheError() throws Exception {
    startProxy(config("admin: {enabled: true}\n"));
    String before = proxy.runtime().hash();
    assertThat(send("GET", "/admin/reload").statusCode()).isEqualTo(405);

    Files.writeString(file, config("admin: {enabled: true}\n").replace("models: [m]", "models: [m, n]"));
    HttpResponse<String> applied = send("POST", "/admin/reload");
    assertThat(applied.statusCode()).isEqualTo(200);
    assertThat(proxy.runtime().hash()).isNotEqualTo(before);
    assertThat(proxy.config().routes().get(0).models()).contains("n");

    Files.writeString(file, "routes: [{name: chat, lb: rr}]\n");
    HttpResponse<String> refused = send("POST", "/admin/reload");
    assertThat(refused.statusCode()).isEqualTo(422);
    assertThat(refused.body()).contains("routes[0]");
  }

  @Test
  void isOffByDefault() throws Exception {
    startProxy(config(""));
    assertThat(send("GET", "/admin/config").statusCode()).isEqualTo(404);
    assertThat(send("GET", "/metrics").statusCode()).isEqualTo(200);
  }
}
