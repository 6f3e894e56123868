package dev.llmproxy.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.llmproxy.server.config.ConfigLoader;
import dev.llmproxy.server.config.ProxyConfig;
import dev.llmproxy.server.config.RouteConfig;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;

/**
 * What can be checked of {@code deploy/kubernetes/} without a cluster: every manifest parses and
 * names its kind; the config the ConfigMap carries is valid; and the fields that must agree with
 * it do (ports, probes, grace periods, mounts, the headless Service behind the dns:/// route,
 * Redis). No schema validator installs from the registries this project reaches, so these are the
 * checks that matter for llmproxy; {@code kubectl kustomize}, where kubectl is installed, also
 * builds each overlay.
 */
class KubernetesManifestsTest {
  private static final Path K8S = Path.of("..", "deploy", "kubernetes");
  private static final Path BASE = K8S.resolve("base");
  private static final Path DASHBOARD = Path.of("..", "deploy", "grafana", "llmproxy-dashboard.json");

  private static Yaml yaml() {
    return new Yaml(new SafeConstructor(new LoaderOptions()));
  }

  /** Every document of every YAML file under base/ and overlays/, with the file it came from. */
  private static List<Map<String, Object>> documents(Path dir) throws IOException {
    List<Map<String, Object>> docs = new ArrayList<>();
    try (Stream<Path> files = Files.walk(dir)) {
      for (Path file : files.filter(f -> f.toString().endsWith(".yaml")).sorted().toList()) {
        if (file.getFileName().toString().equals("llmproxy.yaml")) {
          continue; // llmproxy's own config, not a manifest
        }
        for (Object doc : yaml().loadAll(Files.readString(file))) {
          if (doc != null) {
            @SuppressWarnings("unchecked")
            Map<String, Object> map = (Map<String, Object>) doc;
            docs.add(map);
          }
        }
      }
    }
    return docs;
  }

  private static Map<String, Object> find(List<Map<String, Object>> docs, String kind, String name) {
    return docs.stream().filter(d -> kind.equals(d.get("kind")) && name.equals(get(d, "metadata.name")))
        .findFirst().orElseThrow(() -> new AssertionError("no " + kind + " " + name));
  }

  /** The value at a dotted path; a number segment indexes a list. */
  @SuppressWarnings("unchecked")
  private static <T> T get(Object node, String path) {
    Object at = node;
    for (String key : path.split("\\.")) {
      if (at instanceof List<?> list) {
        at = list.get(Integer.parseInt(key));
      } else {
        at = ((Map<String, Object>) at).get(key);
      }
      if (at == null) {
        return null;
      }
    }
    return (T) at;
  }

  private static ProxyConfig config() {
    return new ConfigLoader().load(BASE.resolve("llmproxy.yaml"));
  }

  @Test
  void everyManifestParsesAndNamesItsKindAndApiVersion() throws IOException {
    List<Map<String, Object>> docs = documents(K8S);
    assertThat(docs).hasSizeGreaterThan(10);
    for (Map<String, Object> doc : docs) {
      assertThat(doc).containsKeys("apiVersion", "kind");
      if (!"Kustomization".equals(doc.get("kind"))) {
        assertThat((String) get(doc, "metadata.name")).as(doc.get("kind") + " has a name").isNotBlank();
      }
    }
  }

  @Test
  void everyKustomizationResourceExists() throws IOException {
    try (Stream<Path> files = Files.walk(K8S)) {
      for (Path file : files.filter(f -> f.getFileName().toString().equals("kustomization.yaml")).toList()) {
        Map<String, Object> k = yaml().load(Files.readString(file));
        for (String resource : Objects.requireNonNullElse(get(k, "resources"), List.<String>of())) {
          assertThat(file.getParent().resolve(resource)).as(file + ": " + resource).exists();
        }
      }
    }
  }

  @Test
  void portsAndProbesAgreeWithTheConfig() throws IOException {
    ProxyConfig config = config();
    Map<String, Object> deployment = find(documents(BASE), "Deployment", "llmproxy");
    Map<String, Object> container = get(deployment, "spec.template.spec.containers.0");
    List<Map<String, Object>> ports = get(container, "ports");

    assertThat(ports).anySatisfy(p -> {
      assertThat(p.get("name")).isEqualTo("grpc");
      assertThat(p.get("containerPort")).isEqualTo(config.server().port());
    });
    assertThat(ports).anySatisfy(p -> {
      assertThat(p.get("name")).isEqualTo("metrics");
      assertThat(p.get("containerPort")).isEqualTo(config.observability().metrics().port());
    });
    assertThat(config.server().host()).as("listens beyond loopback, where probes and the Service reach it")
        .isEqualTo("0.0.0.0");
    assertThat(config.observability().metrics().host()).isEqualTo("0.0.0.0");
    assertThat((Integer) get(container, "readinessProbe.grpc.port")).isEqualTo(config.server().port());
    assertThat((String) get(container, "readinessProbe.grpc.service")).isEqualTo("llmproxy.v1.LlmProxy");
    assertThat((Integer) get(container, "livenessProbe.grpc.port")).isEqualTo(config.server().port());

    Map<String, Object> service = find(documents(BASE), "Service", "llmproxy");
    List<Map<String, Object>> servicePorts = get(service, "spec.ports");
    assertThat(servicePorts).extracting(p -> p.get("targetPort")).containsExactlyInAnyOrder("grpc", "metrics");
    assertThat((Map<String, Object>) get(service, "spec.selector"))
        .isEqualTo(get(deployment, "spec.template.metadata.labels"));
  }

  @Test
  void gracePeriodsCoverPreStopAndTheDrainAndLivenessOutlastsIt() throws IOException {
    Duration grace = config().server().resilience().shutdownGrace();
    Map<String, Object> deployment = find(documents(BASE), "Deployment", "llmproxy");
    Map<String, Object> pod = get(deployment, "spec.template.spec");
    List<String> preStop = get(pod, "containers.0.lifecycle.preStop.exec.command");
    long preStopSeconds = Long.parseLong(preStop.get(1));
    int termination = (Integer) pod.get("terminationGracePeriodSeconds");

    assertThat(preStop.get(0)).isEqualTo("sleep");
    assertThat(termination).as("terminationGracePeriodSeconds >= preStop + shutdown_grace")
        .isGreaterThanOrEqualTo((int) (preStopSeconds + grace.toSeconds()));
    int livenessWindow = (Integer) get(pod, "containers.0.livenessProbe.periodSeconds")
        * (Integer) get(pod, "containers.0.livenessProbe.failureThreshold");
    assertThat(livenessWindow).as("a draining pod is not killed as dead").isGreaterThan(termination);
  }

  @Test
  void configAndCredentialsAreMountedAsWholeDirectoriesSoUpdatesReachTheWatch() throws IOException {
    List<Map<String, Object>> docs = documents(BASE);
    Map<String, Object> deployment = find(docs, "Deployment", "llmproxy");
    Map<String, Object> pod = get(deployment, "spec.template.spec");
    List<String> args = get(pod, "containers.0.args");
    Path configPath = Path.of(args.get(args.indexOf("--config") + 1));
    List<Map<String, Object>> mounts = get(pod, "containers.0.volumeMounts");

    Map<String, Object> configMount = mounts.stream().filter(m -> m.get("name").equals("config")).findFirst().orElseThrow();
    assertThat(configMount.get("mountPath")).isEqualTo(configPath.getParent().toString());
    assertThat(mounts).allSatisfy(m -> assertThat(m).doesNotContainKey("subPath"));
    Map<String, Object> k = yaml().load(Files.readString(BASE.resolve("kustomization.yaml")));
    assertThat((String) get(k, "configMapGenerator.0.name")).isEqualTo(get(pod, "volumes.0.configMap.name"));
    assertThat((List<String>) get(k, "configMapGenerator.0.files")).contains(configPath.getFileName().toString());
    assertThat((Boolean) get(k, "generatorOptions.disableNameSuffixHash")).as("a config change reloads, not rolls")
        .isTrue();

    // The Secret the commented-out engine route reads its key from is the one mounted there.
    Map<String, Object> secret = find(docs, "Secret", "llmproxy-credentials");
    Map<String, Object> credentialsMount = mounts.stream().filter(m -> m.get("name").equals("credentials"))
        .findFirst().orElseThrow();
    String configText = Files.readString(BASE.resolve("llmproxy.yaml"));
    for (String key : ((Map<String, Object>) secret.get("stringData")).keySet()) {
      assertThat(configText).contains(credentialsMount.get("mountPath") + "/" + key);
    }
  }

  @Test
  void theDnsRouteResolvesThroughAHeadlessServiceOnTheEnginesPort() throws IOException {
    List<Map<String, Object>> docs = documents(BASE);
    RouteConfig route = config().routes().stream().filter(r -> r.target() != null).findFirst().orElseThrow();
    String hostPort = route.target().substring("dns:///".length());
    String host = hostPort.substring(0, hostPort.indexOf(':'));
    int port = Integer.parseInt(hostPort.substring(hostPort.indexOf(':') + 1));

    Map<String, Object> headless = find(docs, "Service", host.split("\\.")[0]);
    assertThat((String) get(headless, "spec.clusterIP")).isEqualTo("None");
    assertThat((Integer) get(headless, "spec.ports.0.port")).isEqualTo(port);
    Map<String, Object> engines = docs.stream().filter(d -> "Deployment".equals(d.get("kind"))
        && Objects.equals(get(d, "spec.template.metadata.labels"), get(headless, "spec.selector")))
        .findFirst().orElseThrow();
    assertThat((List<String>) get(engines, "spec.template.spec.containers.0.args"))
        .containsSequence("--port", String.valueOf(port)).containsSequence("--host", "0.0.0.0");
  }

  @Test
  void redisServiceIsWhereTheQuotaStoreConnectsAndOthersTargetTheDeployment() throws IOException {
    List<Map<String, Object>> docs = documents(K8S);
    String uri = config().quota().redis().uri();
    String hostPort = uri.substring(uri.indexOf("//") + 2);
    Map<String, Object> redis = find(docs, "Service", hostPort.substring(0, hostPort.indexOf(':')));
    assertThat((Integer) get(redis, "spec.ports.0.port")).isEqualTo(Integer.parseInt(hostPort.substring(hostPort.indexOf(':') + 1)));

    Map<String, Object> labels = get(find(docs, "Deployment", "llmproxy"), "spec.template.metadata.labels");
    assertThat((Map<String, Object>) get(find(docs, "PodDisruptionBudget", "llmproxy"), "spec.selector.matchLabels"))
        .isEqualTo(labels);
    assertThat((String) get(find(docs, "HorizontalPodAutoscaler", "llmproxy"), "spec.scaleTargetRef.name"))
        .isEqualTo("llmproxy");
    Map<String, Object> monitor = find(docs, "ServiceMonitor", "llmproxy");
    assertThat((String) get(monitor, "spec.endpoints.0.port")).isEqualTo("metrics");
    assertThat((Map<String, Object>) get(monitor, "spec.selector.matchLabels"))
        .isEqualTo(get(find(docs, "Service", "llmproxy"), "metadata.labels"));
  }

  @Test
  void theGrafanaDashboardIsAConfigMapForTheSidecarWithTheDashboardOfDeployGrafana() throws IOException {
    Map<String, Object> k = yaml().load(Files.readString(BASE.resolve("kustomization.yaml")));
    List<Map<String, Object>> generators = get(k, "configMapGenerator");
    Map<String, Object> dashboard = generators.stream()
        .filter(g -> "llmproxy-grafana-dashboard".equals(g.get("name"))).findFirst().orElseThrow();
    assertThat((Object) get(dashboard, "options.labels.grafana_dashboard")).as("a string, as the sidecar matches it")
        .isEqualTo("1");
    List<String> files = get(dashboard, "files");
    assertThat(files).singleElement().satisfies(file -> assertThat(BASE.resolve(file))
        .hasSameTextualContentAs(DASHBOARD));
  }

  @ParameterizedTest
  @ValueSource(strings = {"dev", "production"})
  void eachOverlayBuildsWithKustomize(String overlay) throws Exception {
    assumeTrue(onPath("kubectl"), "kubectl is not installed");
    Process build = new ProcessBuilder("kubectl", "kustomize", K8S.resolve("overlays").resolve(overlay).toString())
        .redirectErrorStream(true).start();
    String output = new String(build.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(build.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(build.exitValue()).as(output).isZero();
    List<Object> docs = new ArrayList<>();
    yaml().loadAll(output).forEach(docs::add);
    assertThat(docs).anyMatch(d -> "Deployment".equals(get(d, "kind")) && "llmproxy".equals(get(d, "metadata.name")));
    Object dashboard = docs.stream().filter(d -> "ConfigMap".equals(get(d, "kind"))
        && "llmproxy-grafana-dashboard".equals(get(d, "metadata.name"))).findFirst().orElseThrow();
    assertThat((Object) get(dashboard, "metadata.labels.grafana_dashboard")).isEqualTo("1");
    Map<String, String> data = get(dashboard, "data");
    assertThat(data).containsOnlyKeys("llmproxy-dashboard.json");
    assertThat(data.get("llmproxy-dashboard.json").strip())
        .isEqualTo(Files.readString(DASHBOARD).strip());
  }

  private static boolean onPath(String command) {
    for (String dir : System.getenv().getOrDefault("PATH", "").split(java.io.File.pathSeparator)) {
      if (Files.isExecutable(Path.of(dir, command))) {
        return true;
      }
    }
    return false;
  }
}
