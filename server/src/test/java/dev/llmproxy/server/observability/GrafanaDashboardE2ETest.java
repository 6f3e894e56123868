package dev.llmproxy.server.observability;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.llmproxy.server.ProxyServer;
import dev.llmproxy.server.config.ConfigLoader;
import dev.llmproxy.sim.SimulatedBackend;
import dev.llmproxy.sim.SimulatedBackendConfig;
import dev.llmproxy.v1.CompletionRequest;
import dev.llmproxy.v1.LlmProxyGrpc;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The Grafana dashboard asks only for series the proxy exports: every metric its queries name is
 * in a real scrape of a proxy that has served streams, with keys, quotas, health checks and the
 * cache on. A renamed metric breaks this test instead of an operator's dashboard.
 */
@Timeout(60)
class GrafanaDashboardE2ETest {
  private static final Path DASHBOARD = Path.of("..", "deploy", "grafana", "llmproxy-dashboard.json");
  private static final Pattern METRIC = Pattern.compile("\\b((?:llmproxy|gen_ai)_[a-z0-9_]+)");

  private static List<String> queries(JsonNode dashboard) {
    List<String> out = new ArrayList<>();
    for (JsonNode panel : dashboard.get("panels")) {
      for (JsonNode target : panel.path("targets")) {
        out.add(target.get("expr").asText());
      }
    }
    for (JsonNode variable : dashboard.at("/templating/list")) {
      if (variable.has("definition")) {
        out.add(variable.get("definition").asText());
      }
    }
    return out;
  }

  /** The families in an exposition, by the names queries use (a histogram's base name, a counter's _total). */
  private static Set<String> families(String exposition) {
    Set<String> names = new TreeSet<>();
    for (String line : exposition.split("\n")) {
      if (line.startsWith("# TYPE ")) {
        names.add(line.split(" ")[2]);
      }
    }
    return names;
  }

  @Test
  void everyMetricTheDashboardQueriesIsExported() throws Exception {
    JsonNode dashboard = new ObjectMapper().readTree(DASHBOARD.toFile());
    List<String> queries = queries(dashboard);
    assertThat(queries).hasSizeGreaterThan(10);
    Set<String> wanted = new TreeSet<>();
    for (String query : queries) {
      Matcher m = METRIC.matcher(query);
      while (m.find()) {
        wanted.add(m.group(1).replaceAll("_(bucket|count|sum)$", ""));
      }
    }

    SimulatedBackend sim = SimulatedBackend.start("127.0.0.1", 0, SimulatedBackendConfig.defaults("sim-0")
        .withTimeToFirstToken(Duration.ZERO).withInterTokenLatency(Duration.ZERO));
    ProxyServer proxy = ProxyServer.start(new ConfigLoader().parse("""
        server: {port: 0}
        routes:
          - {name: chat, models: ["*"], default: true, upstreams: [{name: sim-0, address: "%s"}]}
        auth:
          anonymous_tier: free
        quota:
          tiers: [{name: free, requests: 1000}]
        observability:
          metrics: {port: 0}
        """.formatted(sim.address())));
    ManagedChannel channel = Grpc.newChannelBuilder("127.0.0.1:" + proxy.port(), InsecureChannelCredentials.create())
        .build();
    try {
      CompletionRequest request = CompletionRequest.newBuilder().setPrompt("dashboards").setMaxTokens(3).setSeed(1)
          .build();
      for (int i = 0; i < 2; i++) { // a miss, then a hit
        LlmProxyGrpc.newBlockingStub(channel).withDeadlineAfter(20, TimeUnit.SECONDS).streamComplete(request)
            .forEachRemaining(c -> {});
      }
      await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> // health gauges appear with the first poll
          assertThat(families(Exposition.scrape(proxy.metricsPort()))).containsAll(wanted));
    } finally {
      channel.shutdownNow();
      proxy.close();
      sim.close();
    }
  }
}
