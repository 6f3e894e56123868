package dev.llmproxy.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llmproxy.server.config.ConfigLoader;
import dev.llmproxy.server.config.ObservabilityConfig;
import dev.llmproxy.server.config.ProxyConfig;
import dev.llmproxy.server.config.RouteConfig;
import dev.llmproxy.server.config.UpstreamEndpoint;
import dev.llmproxy.server.config.UpstreamProtocol;
import dev.llmproxy.server.quota.QuotaStoreType;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.yaml.snakeyaml.Yaml;

/**
 * What can be checked of {@code docker/} without a Docker engine: the config the compose file
 * mounts parses and validates, a proxy starts with it, and the files agree with each other.
 */
@Timeout(60)
class DockerFilesTest {
  private static final Path DOCKER = Path.of("..", "docker");

  @SuppressWarnings("unchecked")
  private static Map<String, Object> yaml(String file) throws Exception {
    return (Map<String, Object>) new Yaml().load(Files.readString(DOCKER.resolve(file)));
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Map<String, Object>> services() throws Exception {
    return (Map<String, Map<String, Object>>) yaml("compose.yaml").get("services");
  }

  @Test
  void mountedConfigValidatesWithMetricsAccessLogAndChannelzOn() {
    ProxyConfig config = new ConfigLoader().load(DOCKER.resolve("llmproxy.yaml"));

    assertThat(config.server().host()).isEqualTo("0.0.0.0");
    assertThat(config.server().port()).isEqualTo(50051);
    assertThat(config.observability()).isEqualTo(new ObservabilityConfig(
        new ObservabilityConfig.Metrics(true, "0.0.0.0", 9464), true, true));
  }

  @Test
  @SuppressWarnings("unchecked")
  void composeRunsTheProxyOverThreeSimulatedUpstreamsRedisAndPrometheus() throws Exception {
    Map<String, Map<String, Object>> services = services();
    assertThat(services).containsOnlyKeys("lb", "llmproxy", "sim-1", "sim-2", "sim-3", "vllm-sim", "redis",
        "prometheus", "grafana");
    assertThat((List<String>) services.get("llmproxy").get("volumes"))
        .contains("./llmproxy.yaml:/etc/llmproxy/llmproxy.yaml:ro");
    assertThat((List<String>) services.get("llmproxy").get("command"))
        .containsExactly("--config", "/etc/llmproxy/llmproxy.yaml");

    // Every upstream of the mounted config is a sim service listening on that port.
    RouteConfig route = new ConfigLoader().load(DOCKER.resolve("llmproxy.yaml")).routes().get(0);
    assertThat(route.upstreams()).hasSize(3);
    for (UpstreamEndpoint upstream : route.upstreams()) {
      String service = upstream.address().substring(0, upstream.address().indexOf(':'));
      String port = upstream.address().substring(upstream.address().indexOf(':') + 1);
      List<String> command = (List<String>) services.get(service).get("command");
      assertThat(command).as(service).startsWith("sim").containsSequence("--host", "0.0.0.0")
          .containsSequence("--port", port).containsSequence("--name", upstream.name());
      Map<String, Object> healthcheck = (Map<String, Object>) services.get(service).get("healthcheck");
      assertThat((List<String>) healthcheck.get("test")).contains(HealthCheck.class.getName(), "127.0.0.1:" + port);
    }

    // The OpenAI-compatible route's engine is the OpenAI-mode sim service on the URL's port.
    RouteConfig engine = new ConfigLoader().load(DOCKER.resolve("llmproxy.yaml")).routes().get(1);
    assertThat(engine.protocol()).isEqualTo(UpstreamProtocol.OPENAI);
    URI url = URI.create(engine.upstreams().get(0).address());
    List<String> command = (List<String>) services.get(url.getHost()).get("command");
    assertThat(command).startsWith("sim").containsSequence("--protocol", "openai").containsSequence("--host", "0.0.0.0")
        .containsSequence("--port", String.valueOf(url.getPort()))
        .containsSequence("--name", engine.upstreams().get(0).name());
  }

  @Test
  @SuppressWarnings("unchecked")
  void severalReplicasShareRedisBehindOneAddress() throws Exception {
    Map<String, Map<String, Object>> services = services();
    ProxyConfig config = new ConfigLoader().load(DOCKER.resolve("llmproxy.yaml"));
    Map<String, Object> deploy = (Map<String, Object>) services.get("llmproxy").get("deploy");
    assertThat((Integer) deploy.get("replicas")).isGreaterThan(1);
    assertThat(services.get("llmproxy")).doesNotContainKey("ports"); // replicas cannot share a host port
    assertThat(config.quota().store()).isEqualTo(QuotaStoreType.REDIS);
    assertThat((List<String>) services.get("lb").get("ports")).containsExactly("127.0.0.1:50051:50051");
    String nginx = Files.readString(DOCKER.resolve("nginx.conf"));
    assertThat(nginx).contains("server llmproxy:" + config.server().port() + ";", "grpc_pass grpc://llmproxy;",
        "listen 50051;", "http2 on;");
  }

  @Test
  @SuppressWarnings("unchecked")
  void prometheusScrapesTheMetricsPortOfEveryReplica() throws Exception {
    Map<String, Object> job = ((List<Map<String, Object>>) yaml("prometheus.yml").get("scrape_configs")).get(0);
    Map<String, Object> sd = ((List<Map<String, Object>>) job.get("dns_sd_configs")).get(0);
    int port = new ConfigLoader().load(DOCKER.resolve("llmproxy.yaml")).observability().metrics().port();

    assertThat(job.get("metrics_path")).isEqualTo("/metrics");
    assertThat((List<String>) sd.get("names")).containsExactly("llmproxy");
    assertThat(sd.get("port")).isEqualTo(port);
  }

  @Test
  @SuppressWarnings("unchecked")
  void grafanaIsProvisionedWithTheDashboardThatDeployShipsAndPrometheusAsItsSource() throws Exception {
    Map<String, Object> grafana = services().get("grafana");
    assertThat((List<String>) grafana.get("volumes")).contains(
        "./grafana/provisioning:/etc/grafana/provisioning:ro", "./grafana/dashboards:/var/lib/grafana/dashboards:ro");
    Map<String, Object> provider = ((List<Map<String, Object>>) yaml("grafana/provisioning/dashboards/llmproxy.yaml")
        .get("providers")).get(0);
    assertThat(((Map<String, Object>) provider.get("options")).get("path")).isEqualTo("/var/lib/grafana/dashboards");
    Map<String, Object> source = ((List<Map<String, Object>>) yaml("grafana/provisioning/datasources/prometheus.yaml")
        .get("datasources")).get(0);
    assertThat(source).containsEntry("type", "prometheus").containsEntry("url", "http://prometheus:9090");
    assertThat(DOCKER.resolve("grafana/dashboards/llmproxy-dashboard.json"))
        .hasSameTextualContentAs(Path.of("..", "deploy", "grafana", "llmproxy-dashboard.json"));
  }

  @Test
  void dockerfileRunsTheServerJarAsANonRootUserWithTheGrpcHealthCheck() throws Exception {
    String dockerfile = Files.readString(DOCKER.resolve("Dockerfile"));

    assertThat(dockerfile).contains("FROM eclipse-temurin:17-jdk AS build", "./mvnw -B", "FROM eclipse-temurin:17-jre",
        "COPY --from=build /src/server/target/llmproxy-server.jar /app/llmproxy-server.jar");
    assertThat(dockerfile.indexOf("\nUSER llmproxy")).isPositive().isLessThan(dockerfile.indexOf("\nENTRYPOINT"));
    assertThat(dockerfile).containsPattern("HEALTHCHECK [^\\n]*\\\\\\n\\s+CMD \\[.*\"" + HealthCheck.class.getName()
        + "\", \"127.0.0.1:50051\"]");
  }

  @Test
  void proxyStartsWithTheMountedConfigAndReportsServing() throws Exception {
    ProxyConfig config = new ConfigLoader().load(DOCKER.resolve("llmproxy.yaml"));
    // Loopback and free ports instead of the container's fixed ones; the sim-N host names do not
    // resolve outside compose, which the proxy must survive (it keeps retrying them).
    config = config.withServer(config.server().withAddress("127.0.0.1", 0))
        .withObservability(config.observability().withMetrics(new ObservabilityConfig.Metrics(true, "127.0.0.1", 0)));
    // Without compose's Redis the proxy would rightly stay NOT_SERVING (RedisReadinessE2ETest covers
    // that); here the quotas are kept in memory.
    assertThat(config.quota().store()).isEqualTo(QuotaStoreType.REDIS);
    config = config.withAccess(config.auth(), config.quota().withStore(QuotaStoreType.MEMORY, config.quota().redis()));
    try (ProxyServer proxy = ProxyServer.start(config)) {
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      PrintStream print = new PrintStream(out, true, StandardCharsets.UTF_8);
      assertThat(HealthCheck.run(new String[] {"127.0.0.1:" + proxy.port()}, print, print)).isZero();
      HttpResponse<String> metrics = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
          URI.create("http://127.0.0.1:" + proxy.metricsPort() + "/metrics")).build(), HttpResponse.BodyHandlers.ofString());
      assertThat(metrics.statusCode()).isEqualTo(200);
      assertThat(metrics.body()).contains("jvm_memory_used_bytes");
    }
  }
}
