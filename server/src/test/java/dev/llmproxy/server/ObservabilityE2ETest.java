package dev.llmproxy.server;

import static dev.llmproxy.server.ProxyFixture.eventually;
import static dev.llmproxy.server.ProxyFixture.prompt;
import static org.assertj.core.api.Assertions.assertThat;

import dev.llmproxy.server.config.ConfigLoader;
import dev.llmproxy.server.config.LbPolicy;
import dev.llmproxy.server.config.ObservabilityConfig;
import dev.llmproxy.server.config.ProxyConfig;
import dev.llmproxy.server.config.RouteConfig;
import dev.llmproxy.server.config.ServerConfig;
import dev.llmproxy.server.config.UpstreamEndpoint;
import dev.llmproxy.server.observability.Exposition;
import dev.llmproxy.sim.SimulatedBackend;
import dev.llmproxy.sim.SimulatedBackendConfig;
import dev.llmproxy.v1.CompletionChunk;
import dev.llmproxy.v1.CompletionRequest;
import dev.llmproxy.v1.LlmProxyGrpc;
import io.grpc.Context;
import io.grpc.ManagedChannel;
import io.grpc.channelz.v1.ChannelzGrpc;
import io.grpc.channelz.v1.GetTopChannelsRequest;
import io.grpc.channelz.v1.GetTopChannelsResponse;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Metrics, upstream gauges and channelz of a proxy over real sockets in front of simulated upstreams. */
@Timeout(60)
class ObservabilityE2ETest {
  private final List<SimulatedBackend> sims = new ArrayList<>();
  private ProxyServer proxy;
  private ManagedChannel channel;
  private final HttpClient http = HttpClient.newHttpClient();

  private void start(int upstreams, SimulatedBackendConfig simConfig) throws IOException {
    List<UpstreamEndpoint> endpoints = new ArrayList<>();
    for (int i = 0; i < upstreams; i++) {
      SimulatedBackend sim = SimulatedBackend.start("127.0.0.1", 0, simConfig.withName("sim-" + i));
      sims.add(sim);
      endpoints.add(new UpstreamEndpoint(sim.name(), sim.address()));
    }
    ProxyConfig config = new ProxyConfig(ServerConfig.defaults().withAddress("127.0.0.1", 0),
        List.of(RouteConfig.forUpstreams(endpoints, LbPolicy.ROUND_ROBIN)))
        .withObservability(new ObservabilityConfig(new ObservabilityConfig.Metrics(true, "127.0.0.1", 0), false, true));
    proxy = ProxyServer.start(config);
    channel = NettyChannelBuilder.forAddress("127.0.0.1", proxy.port()).usePlaintext().build();
  }

  @AfterEach
  void stop() {
    if (channel != null) {
      channel.shutdownNow();
    }
    if (proxy != null) {
      proxy.close();
    }
    sims.forEach(SimulatedBackend::close);
  }

  private LlmProxyGrpc.LlmProxyBlockingStub blocking() {
    return LlmProxyGrpc.newBlockingStub(channel).withDeadlineAfter(20, TimeUnit.SECONDS);
  }

  private String scrape() throws Exception {
    return Exposition.scrape(proxy.metricsPort());
  }

  private static double sum(String exposition, String metric, String... labels) {
    return Exposition.sum(exposition, metric, labels);
  }

  private double metric(String metric, String... labels) {
    try {
      return sum(scrape(), metric, labels);
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  @Test
  void namedRoutesGetTheirOwnUpstreamGaugesAndNoPlaceholderRoute() throws Exception {
    for (int i = 0; i < 2; i++) {
      sims.add(SimulatedBackend.start("127.0.0.1", 0, SimulatedBackendConfig.defaults("sim-" + i)));
    }
    ProxyConfig config = new ConfigLoader().parse("""
        server: {host: 127.0.0.1, port: 0}
        routes: [{name: chat, default: true, models: ["*"], upstreams: ["%s", "%s"]}]
        observability: {metrics: {host: 127.0.0.1, port: 0}}
        """.formatted(sims.get(0).address(), sims.get(1).address()));
    proxy = ProxyServer.start(config);
    channel = NettyChannelBuilder.forAddress("127.0.0.1", proxy.port()).usePlaintext().build();
    assertThat(blocking().complete(CompletionRequest.newBuilder().setPrompt("hi").setMaxTokens(2).build())
        .getText()).isNotEmpty();
    assertThat(eventually(Duration.ofSeconds(10), () -> metric("llmproxy_upstream_healthy", "route=\"chat\"") == 2)).isTrue();
    String text = scrape();
    List<String> ejected = text.lines().filter(l -> l.startsWith("llmproxy_upstream_ejected")).toList();
    assertThat(ejected).singleElement().satisfies(l -> assertThat(l).contains("route=\"chat\"").doesNotContain("NaN"));
    assertThat(text).doesNotContain("route=\"default\"");
  }

  @Test
  void servesCallsTokensLatencyUpstreamAndJvmMetricsToPrometheus() throws Exception {
    start(2, SimulatedBackendConfig.defaults("sim"));
    for (int i = 0; i < 3; i++) {
      blocking().complete(prompt("unary " + i, 4));
    }
    for (int i = 0; i < 2; i++) {
      blocking().streamComplete(prompt("stream " + i, 5)).forEachRemaining(c -> { });
    }

    assertThat(eventually(Duration.ofSeconds(5), () ->
        metric("llmproxy_calls_total", "method=\"StreamComplete\"", "status=\"OK\"") == 2)).isTrue();
    String text = scrape();
    assertThat(sum(text, "llmproxy_calls_total", "method=\"Complete\"", "route=\"default\"", "status=\"OK\"",
        "upstream=\"sim-")).isEqualTo(3);
    assertThat(sum(text, "llmproxy_tokens_streamed_total", "route=\"default\"")).isEqualTo(10);
    assertThat(sum(text, "llmproxy_call_ttft_seconds_count", "route=\"default\"")).isEqualTo(2);
    assertThat(sum(text, "llmproxy_call_ttft_seconds_bucket", "le=\"300.0\"")).isEqualTo(2);
    assertThat(sum(text, "llmproxy_call_duration_seconds_count", "method=\"Complete\"")).isEqualTo(3);
    assertThat(sum(text, "llmproxy_upstream_calls_total", "status=\"OK\"")).isGreaterThanOrEqualTo(5);
    assertThat(sum(text, "llmproxy_upstream_inflight")).isZero();
    assertThat(text).contains("jvm_memory_used_bytes{", "jvm_gc_", "jvm_threads_live_threads", "process_cpu_usage");
    assertThat(eventually(Duration.ofSeconds(5), () ->
        metric("llmproxy_upstream_healthy", "upstream=\"sim-0\"") == 1
            && metric("llmproxy_upstream_healthy", "upstream=\"sim-1\"") == 1)).isTrue();
  }

  @Test
  void inFlightGaugeCountsTheStreamsOpenToEachUpstream() throws Exception {
    start(1, SimulatedBackendConfig.defaults("sim").withInterTokenLatency(Duration.ofMillis(100)));
    Context.CancellableContext streams = Context.current().withCancellation();
    streams.run(() -> {
      for (int i = 0; i < 3; i++) {
        LlmProxyGrpc.newStub(channel).streamComplete(prompt("long " + i, 500), new StreamObserver<CompletionChunk>() {
          @Override
          public void onNext(CompletionChunk value) { }

          @Override
          public void onError(Throwable t) { }

          @Override
          public void onCompleted() { }
        });
      }
    });
    try {
      assertThat(eventually(Duration.ofSeconds(10), () ->
          metric("llmproxy_upstream_inflight", "route=\"default\"", "upstream=\"sim-0\"") == 3)).isTrue();
    } finally {
      streams.cancel(null);
    }
    assertThat(eventually(Duration.ofSeconds(10), () ->
        metric("llmproxy_upstream_inflight", "upstream=\"sim-0\"") == 0)).isTrue();
    assertThat(eventually(Duration.ofSeconds(5), () ->
        metric("llmproxy_calls_total", "method=\"StreamComplete\"", "status=\"CANCELLED\"") == 3)).isTrue();
  }

  @Test
  void upstreamThatStopsServingIsReportedUnhealthyAndCountedAsEjected() throws Exception {
    start(2, SimulatedBackendConfig.defaults("sim"));
    assertThat(eventually(Duration.ofSeconds(10), () ->
        metric("llmproxy_upstream_healthy", "upstream=\"sim-1\"") == 1)).isTrue();

    sims.get(1).setServing(false);

    assertThat(eventually(Duration.ofSeconds(10), () ->
        metric("llmproxy_upstream_healthy", "upstream=\"sim-1\"") == 0)).isTrue();
    assertThat(metric("llmproxy_upstream_health_drops_total", "upstream=\"sim-1\"")).isEqualTo(1);
    assertThat(metric("llmproxy_upstream_healthy", "upstream=\"sim-0\"")).isEqualTo(1);

    sims.get(1).setServing(true);
    assertThat(eventually(Duration.ofSeconds(10), () ->
        metric("llmproxy_upstream_healthy", "upstream=\"sim-1\"") == 1)).isTrue();
  }

  @Test
  void channelzListsTheUpstreamChannelsOnTheProxyPort() throws Exception {
    start(2, SimulatedBackendConfig.defaults("sim"));
    blocking().complete(prompt("make the channel connect", 1));

    GetTopChannelsResponse top = ChannelzGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS)
        .getTopChannels(GetTopChannelsRequest.newBuilder().build());

    assertThat(top.getChannelList()).anySatisfy(c ->
        assertThat(c.getData().getTarget()).startsWith("static:///").contains(sims.get(0).address()));
  }

  @Test
  void otherPathsOfTheMetricsPortAreNotFound() throws Exception {
    start(1, SimulatedBackendConfig.defaults("sim"));
    HttpResponse<String> response = http.send(HttpRequest.newBuilder(
        URI.create("http://127.0.0.1:" + proxy.metricsPort() + "/")).build(), HttpResponse.BodyHandlers.ofString());
    assertThat(response.statusCode()).isEqualTo(404);
  }
}
