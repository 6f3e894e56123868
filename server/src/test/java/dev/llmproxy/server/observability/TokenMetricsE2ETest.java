package dev.llmproxy.server.observability;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.llmproxy.server.ProxyServer;
import dev.llmproxy.server.config.ConfigLoader;
import dev.llmproxy.sim.SimulatedBackend;
import dev.llmproxy.sim.SimulatedBackendConfig;
import dev.llmproxy.v1.Completion;
import dev.llmproxy.v1.CompletionRequest;
import dev.llmproxy.v1.LlmProxyGrpc;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.stub.MetadataUtils;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Token accounting, GenAI metrics, per-route cache results and request ids over real sockets,
 * read from the Prometheus endpoint as a scraper reads it; and the exposition itself: every family
 * has help text and a type, no value is NaN, no series has a placeholder route, and
 * {@code promtool check metrics} (where installed) accepts it.
 */
@Timeout(60)
class TokenMetricsE2ETest {
  private static final Metadata.Key<String> REQUEST_ID = RequestIdServerInterceptor.REQUEST_ID;

  private SimulatedBackend sim;
  private ProxyServer proxy;
  private ManagedChannel channel;

  @BeforeEach
  void start() throws Exception {
    sim = SimulatedBackend.start("127.0.0.1", 0, SimulatedBackendConfig.defaults("sim-0")
        .withTimeToFirstToken(Duration.ZERO).withInterTokenLatency(Duration.ofMillis(1)));
    proxy = ProxyServer.start(new ConfigLoader().parse("""
        server: {port: 0}
        routes:
          - name: chat
            models: [llama]
            default: true
            health_check: false
            upstreams: [{name: sim-0, address: "%s"}]
        auth:
          keys:
            - {id: team-a, plaintext_dev_only: secret-a}
        observability:
          metrics: {port: 0}
        """.formatted(sim.address())));
    channel = Grpc.newChannelBuilder("127.0.0.1:" + proxy.port(), InsecureChannelCredentials.create()).build();
  }

  @AfterEach
  void stop() {
    channel.shutdownNow();
    proxy.close();
    sim.close();
  }

  private LlmProxyGrpc.LlmProxyBlockingStub stub(Metadata extra, AtomicReference<Metadata> responseHeaders) {
    Metadata headers = new Metadata();
    headers.put(Metadata.Key.of("x-api-key", Metadata.ASCII_STRING_MARSHALLER), "secret-a");
    headers.merge(extra);
    return LlmProxyGrpc.newBlockingStub(channel)
        .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers),
            MetadataUtils.newCaptureMetadataInterceptor(responseHeaders, new AtomicReference<>()))
        .withDeadlineAfter(20, TimeUnit.SECONDS);
  }

  private String scrape() throws Exception {
    return Exposition.scrape(proxy.metricsPort());
  }

  private static double value(String exposition, String metric, String... labels) {
    return Exposition.sum(exposition, metric, labels);
  }

  @Test
  void countsPromptAndCompletionTokensOfBothRpcsAndCacheResultsByRoute() throws Exception {
    AtomicReference<Metadata> headers = new AtomicReference<>();
    Completion unary = stub(new Metadata(), headers).complete(CompletionRequest.newBuilder().setModel("llama")
        .setPrompt("a unary question").setMaxTokens(5).build());
    CompletionRequest cacheable = CompletionRequest.newBuilder().setModel("llama").setPrompt("a streamed question")
        .setMaxTokens(4).setSeed(3).build();
    List<Integer> streamedPrompt = new ArrayList<>();
    stub(new Metadata(), headers).streamComplete(cacheable).forEachRemaining(c -> {
      if (c.hasUsage()) {
        streamedPrompt.add(c.getUsage().getPromptTokens());
      }
    });
    stub(new Metadata(), headers).streamComplete(cacheable).forEachRemaining(c -> {}); // a hit: no upstream tokens

    String metrics = scrape();
    String[] series = {"route=\"chat\"", "model=\"llama\"", "upstream=\"sim-0\"", "key_id=\"team-a\""};
    assertThat(value(metrics, "llmproxy_tokens_total", concat(series, "type=\"completion\""))).isEqualTo(5 + 4);
    assertThat(value(metrics, "llmproxy_tokens_total", concat(series, "type=\"prompt\"")))
        .isEqualTo(unary.getUsage().getPromptTokens() + streamedPrompt.get(0));
    assertThat(value(metrics, "gen_ai_client_token_usage_count", "gen_ai_token_type=\"output\"",
        "gen_ai_request_model=\"llama\"", "route=\"chat\"", "gen_ai_operation_name=\"text_completion\"")).isEqualTo(2);
    assertThat(value(metrics, "gen_ai_client_token_usage_sum", "gen_ai_token_type=\"output\"")).isEqualTo(9);
    assertThat(value(metrics, "gen_ai_server_request_duration_seconds_count", "route=\"chat\"")).isEqualTo(3);
    assertThat(value(metrics, "gen_ai_server_time_to_first_token_seconds_count", "route=\"chat\"")).isEqualTo(2);
    assertThat(value(metrics, "gen_ai_server_time_per_output_token_seconds_count", "route=\"chat\"")).isEqualTo(2);
    assertThat(value(metrics, "llmproxy_call_inter_token_seconds_count", "route=\"chat\"", "upstream=\"sim-0\""))
        .isEqualTo(1);
    assertThat(value(metrics, "llmproxy_cache_results_total", "route=\"chat\"", "result=\"bypass\"")).isEqualTo(1);
    assertThat(value(metrics, "llmproxy_cache_results_total", "route=\"chat\"", "result=\"miss\"")).isEqualTo(1);
    assertThat(value(metrics, "llmproxy_cache_results_total", "route=\"chat\"", "result=\"hit\"")).isEqualTo(1);
  }

  @Test
  void everyCallHasARequestIdThatTheClientAndTheUpstreamSee() throws Exception {
    AtomicReference<Metadata> generated = new AtomicReference<>();
    stub(new Metadata(), generated).complete(CompletionRequest.newBuilder().setPrompt("one").setMaxTokens(1).build());
    String id = generated.get().get(REQUEST_ID);
    assertThat(id).matches("[0-9a-f]{32}");

    Metadata own = new Metadata();
    own.put(REQUEST_ID, "client-chosen-42");
    AtomicReference<Metadata> echoed = new AtomicReference<>();
    stub(own, echoed).complete(CompletionRequest.newBuilder().setPrompt("two").setMaxTokens(1).build());
    assertThat(echoed.get().get(REQUEST_ID)).isEqualTo("client-chosen-42");

    Set<String> seenUpstream = new HashSet<>();
    sim.recorder().calls().forEach(c -> seenUpstream.add(c.headers().get(REQUEST_ID)));
    assertThat(seenUpstream).containsExactlyInAnyOrder(id, "client-chosen-42");
  }

  @Test
  void theExpositionHasHelpAndTypeForEveryFamilyAndNoNanOrPlaceholderRoute() throws Exception {
    stub(new Metadata(), new AtomicReference<>()).complete(CompletionRequest.newBuilder().setPrompt("x").setMaxTokens(2)
        .build());
    String metrics = scrape();

    Set<String> help = new HashSet<>();
    Set<String> type = new HashSet<>();
    for (String line : metrics.split("\n")) {
      if (line.startsWith("# HELP ")) {
        String[] parts = line.split(" ", 4);
        assertThat(parts).as(line).hasSize(4);
        assertThat(parts[3].strip()).as("help text of %s", parts[2]).isNotEmpty();
        help.add(parts[2]);
      } else if (line.startsWith("# TYPE ")) {
        type.add(line.split(" ")[2]);
      } else if (!line.isBlank() && !line.startsWith("#")) {
        assertThat(line).doesNotEndWith("NaN").doesNotContain("route=\"default\"");
      }
    }
    assertThat(help).isEqualTo(type).contains("llmproxy_tokens_total", "gen_ai_client_token_usage",
        "llmproxy_upstream_ejected");
    promtoolAccepts(own(metrics));
  }

  /**
   * The project's own families (llmproxy_*, gen_ai_*). Micrometer's JVM and system binders are
   * left out: promtool's linter objects to two of their names ({@code system_cpu_count},
   * {@code process_cpu_time_ns_total}), which dashboards built for Micrometer expect as they are.
   */
  private static String own(String exposition) {
    StringBuilder out = new StringBuilder();
    for (String line : exposition.split("\n")) {
      String name = line.startsWith("# HELP ") || line.startsWith("# TYPE ") ? line.split(" ")[2] : line;
      if (name.startsWith("llmproxy_") || name.startsWith("gen_ai_")) {
        out.append(line).append('\n');
      }
    }
    return out.toString();
  }

  /**
   * {@code promtool check metrics}, the linter Prometheus ships. Skipped where it is not installed,
   * unless {@code LLMPROXY_REQUIRE_PROMTOOL} is set (CI installs it).
   */
  private static void promtoolAccepts(String exposition) throws IOException, InterruptedException {
    boolean installed = false;
    for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
      installed |= new File(dir, "promtool").canExecute();
    }
    if (!installed && System.getenv("LLMPROXY_REQUIRE_PROMTOOL") != null) {
      throw new AssertionError("promtool is not installed but LLMPROXY_REQUIRE_PROMTOOL is set");
    }
    assumeTrue(installed, "promtool is not installed");
    Process promtool = new ProcessBuilder("promtool", "check", "metrics").redirectErrorStream(true).start();
    promtool.getOutputStream().write(exposition.getBytes(StandardCharsets.UTF_8));
    promtool.getOutputStream().close();
    String output = new String(promtool.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(promtool.waitFor(30, TimeUnit.SECONDS)).isTrue();
    assertThat(promtool.exitValue()).as(output).isZero();
  }

  private static String[] concat(String[] labels, String more) {
    String[] out = java.util.Arrays.copyOf(labels, labels.length + 1);
    out[labels.length] = more;
    return out;
  }
}
