package dev.llmproxy.server.upstream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.llmproxy.server.ProxyServer;
import dev.llmproxy.server.config.ConfigLoader;
import dev.llmproxy.sim.SimulatedBackend;
import dev.llmproxy.sim.SimulatedBackendConfig;
import dev.llmproxy.sim.openai.OpenAiSimulatedBackend;
import dev.llmproxy.v1.CompletionChunk;
import dev.llmproxy.v1.CompletionRequest;
import dev.llmproxy.v1.LlmProxyGrpc;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.MetadataUtils;
import io.grpc.stub.StreamObserver;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * {@code least_loaded} end to end: two simulated engines, one kept busy by long generations sent to
 * it directly (6 of its 8 batch slots), the other idle. Once each has reported its load (in the
 * trailers of a call, or for OpenAI engines in the {@code endpoint-load-metrics} header), the proxy
 * sends the calls to the idle one; a policy blind to engine load splits them. With out-of-band
 * reports (an {@code OpenRcaService} stream, or for OpenAI engines a scrape of {@code /metrics}) the
 * engines report nothing per call, and the busy one also has a queue.
 */
class EngineLoadBalancingE2ETest {
  private static final Metadata.Key<String> UPSTREAM =
      Metadata.Key.of("llmproxy-upstream", Metadata.ASCII_STRING_MARSHALLER);
  private static final int SLOTS = 8;
  private static final int BACKGROUND = 6;
  private static final int QUEUED = 16;
  private static final int CALLS = 30;
  /** Calls that may go out before the first out-of-band reports arrive. */
  private static final int BLIND_PICKS = 3;
  private static final String OUT_OF_BAND = "{report_ttl: 1m, out_of_band: {interval: 100ms}}";

  private final List<AutoCloseable> closeLast = new ArrayList<>();
  private final List<ProxyServer> proxies = new ArrayList<>();
  private final List<ManagedChannel> channels = new ArrayList<>();
  private final List<InputStream> openStreams = new CopyOnWriteArrayList<>();

  @AfterEach
  void stop() throws Exception {
    channels.forEach(ManagedChannel::shutdownNow);
    for (InputStream stream : openStreams) {
      stream.close();
    }
    proxies.forEach(ProxyServer::close);
    for (AutoCloseable sim : closeLast) {
      sim.close();
    }
  }

  @Test
  void grpcEnginesReportingLoadInTrailersSteerCallsToTheIdleOne() throws Exception {
    SimulatedBackend busy = SimulatedBackend.start(engine("busy"));
    closeLast.add(busy);
    SimulatedBackend idle = SimulatedBackend.start(engine("idle"));
    closeLast.add(idle);
    LlmProxyGrpc.LlmProxyStub direct = LlmProxyGrpc.newStub(channel(busy.port()));
    for (int i = 0; i < BACKGROUND; i++) {
      direct.streamComplete(longGeneration(i), new Ignoring());
    }
    await().atMost(Duration.ofSeconds(20)).until(() -> busy.running() == BACKGROUND);

    LlmProxyGrpc.LlmProxyBlockingStub stub = proxy("", busy.address(), idle.address());

    assertThat(picksAfterBothReported(stub, "busy", "idle")).containsOnlyKeys("idle");
  }

  @Test
  void openAiEnginesReportingLoadInTheOrcaHeaderSteerCallsToTheIdleOne() throws Exception {
    OpenAiSimulatedBackend busy = OpenAiSimulatedBackend.start(engine("busy"));
    closeLast.add(busy);
    OpenAiSimulatedBackend idle = OpenAiSimulatedBackend.start(engine("idle"));
    closeLast.add(idle);
    HttpClient http = HttpClient.newHttpClient();
    for (int i = 0; i < BACKGROUND; i++) {
      HttpRequest request = HttpRequest.newBuilder(URI.create(busy.baseUrl() + "/v1/completions"))
          .header("content-type", "application/json")
          .POST(HttpRequest.BodyPublishers.ofString(
              "{\"model\": \"m\", \"prompt\": \"background " + i + "\", \"max_tokens\": 4000, \"stream\": true}"))
          .build();
      openStreams.add(http.send(request, HttpResponse.BodyHandlers.ofInputStream()).body());
    }
    await().atMost(Duration.ofSeconds(20)).until(() -> busy.requestsRunning() == BACKGROUND);

    LlmProxyGrpc.LlmProxyBlockingStub stub = proxy("protocol: openai", busy.baseUrl(), idle.baseUrl());

    assertThat(picksAfterBothReported(stub, "busy", "idle")).containsOnlyKeys("idle");
  }

  @Test
  void grpcEnginesReportingLoadOutOfBandSteerCallsToTheIdleOne() throws Exception {
    SimulatedBackend busy = SimulatedBackend.start(engine("busy"));
    closeLast.add(busy);
    SimulatedBackend idle = SimulatedBackend.start(engine("idle"));
    closeLast.add(idle);
    busy.setPerCallLoadReports(false);
    idle.setPerCallLoadReports(false);
    LlmProxyGrpc.LlmProxyStub direct = LlmProxyGrpc.newStub(channel(busy.port()));
    for (int i = 0; i < SLOTS + QUEUED; i++) {
      direct.streamComplete(longGeneration(i), new Ignoring());
    }
    await().atMost(Duration.ofSeconds(20)).until(() -> busy.running() == SLOTS && busy.waiting() == QUEUED);

    LlmProxyGrpc.LlmProxyBlockingStub stub = proxy("", OUT_OF_BAND, busy.address(), idle.address());

    assertThat(picks(stub).getOrDefault("idle", 0)).isGreaterThanOrEqualTo(CALLS - BLIND_PICKS);
  }

  @Test
  void openAiEnginesScrapedForTheirMetricsSteerStreamedCallsToTheIdleOne() throws Exception {
    OpenAiSimulatedBackend busy = OpenAiSimulatedBackend.start(engine("busy"));
    closeLast.add(busy);
    OpenAiSimulatedBackend idle = OpenAiSimulatedBackend.start(engine("idle"));
    closeLast.add(idle);
    busy.setPerCallLoadReports(false); // as vLLM on streamed answers: no endpoint-load-metrics header
    idle.setPerCallLoadReports(false);
    loadDirectly(busy, SLOTS + QUEUED);
    await().atMost(Duration.ofSeconds(20))
        .until(() -> busy.requestsRunning() == SLOTS && busy.requestsWaiting() == QUEUED);

    LlmProxyGrpc.LlmProxyBlockingStub stub = proxy("protocol: openai", OUT_OF_BAND, busy.baseUrl(), idle.baseUrl());

    assertThat(picks(stub).getOrDefault("idle", 0)).isGreaterThanOrEqualTo(CALLS - BLIND_PICKS);
  }

  /**
   * Which engine answered each of {@value #CALLS} streamed calls of two tokens: each takes an
   * inter-token latency (100 ms), so the calls sent between two reports are never near the busy
   * engine's queue. A call that lands in that queue gets no answer within its deadline ("none").
   */
  private static Map<String, Integer> picks(LlmProxyGrpc.LlmProxyBlockingStub stub) {
    Map<String, Integer> picks = new HashMap<>();
    for (int i = 0; i < CALLS; i++) {
      AtomicReference<Metadata> headers = new AtomicReference<>();
      AtomicReference<Metadata> trailers = new AtomicReference<>();
      try {
        stub.withInterceptors(MetadataUtils.newCaptureMetadataInterceptor(headers, trailers))
            .withDeadlineAfter(5, TimeUnit.SECONDS)
            .streamComplete(CompletionRequest.newBuilder().setPrompt("question " + i).setMaxTokens(2).build())
            .forEachRemaining(chunk -> { });
        picks.merge(headers.get().get(UPSTREAM), 1, Integer::sum);
      } catch (StatusRuntimeException e) {
        assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.DEADLINE_EXCEEDED);
        picks.merge("none", 1, Integer::sum);
      }
    }
    return picks;
  }

  private void loadDirectly(OpenAiSimulatedBackend sim, int streams) throws Exception {
    HttpClient http = HttpClient.newHttpClient();
    for (int i = 0; i < streams; i++) {
      HttpRequest request = HttpRequest.newBuilder(URI.create(sim.baseUrl() + "/v1/completions"))
          .header("content-type", "application/json")
          .POST(HttpRequest.BodyPublishers.ofString(
              "{\"model\": \"m\", \"prompt\": \"background " + i + "\", \"max_tokens\": 4000, \"stream\": true}"))
          .build();
      http.sendAsync(request, HttpResponse.BodyHandlers.ofInputStream())
          .thenAccept(response -> openStreams.add(response.body()));
    }
  }

  /** Slow tokens, so that the background generations hold their slots for minutes. */
  private static SimulatedBackendConfig engine(String name) {
    return SimulatedBackendConfig.defaults(name).withInterTokenLatency(Duration.ofMillis(100)).withMaxConcurrency(SLOTS);
  }

  /** Calls until both engines have answered one (and so reported), then counts where 30 more go. */
  private static Map<String, Integer> picksAfterBothReported(LlmProxyGrpc.LlmProxyBlockingStub stub, String... names) {
    Set<String> seen = new HashSet<>();
    int[] probe = {0};
    await().atMost(Duration.ofSeconds(30)).ignoreExceptions().until(() -> {
      seen.add(upstreamOf(stub, "probe " + probe[0]++));
      return seen.containsAll(List.of(names));
    });
    Map<String, Integer> picks = new HashMap<>();
    for (int i = 0; i < 30; i++) {
      picks.merge(upstreamOf(stub, "question " + i), 1, Integer::sum);
    }
    return picks;
  }

  private LlmProxyGrpc.LlmProxyBlockingStub proxy(String protocol, String busyAddress, String idleAddress)
      throws Exception {
    return proxy(protocol, "{report_ttl: 1m}", busyAddress, idleAddress);
  }

  private LlmProxyGrpc.LlmProxyBlockingStub proxy(String protocol, String leastLoaded, String busyAddress,
      String idleAddress) throws Exception {
    String yaml = """
        server: {host: 127.0.0.1, port: 0}
        cache: {enabled: false}
        routes:
          - name: pool
            models: ["*"]
            default: true
            %s
            lb: least_loaded
            least_loaded: %s
            upstreams:
              - {name: busy, address: "%s"}
              - {name: idle, address: "%s"}
        """.formatted(protocol, leastLoaded, busyAddress, idleAddress);
    ProxyServer proxy = ProxyServer.start(new ConfigLoader().parse(yaml));
    proxies.add(proxy);
    return LlmProxyGrpc.newBlockingStub(channel(proxy.port()));
  }

  private ManagedChannel channel(int port) {
    ManagedChannel channel = NettyChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build();
    channels.add(channel);
    return channel;
  }

  private static CompletionRequest longGeneration(int i) {
    return CompletionRequest.newBuilder().setPrompt("background " + i).setMaxTokens(4000).build();
  }

  private static String upstreamOf(LlmProxyGrpc.LlmProxyBlockingStub stub, String prompt) {
    AtomicReference<Metadata> headers = new AtomicReference<>();
    AtomicReference<Metadata> trailers = new AtomicReference<>();
    stub.withInterceptors(MetadataUtils.newCaptureMetadataInterceptor(headers, trailers))
        .withDeadlineAfter(20, TimeUnit.SECONDS)
        .complete(CompletionRequest.newBuilder().setPrompt(prompt).setMaxTokens(1).build());
    return headers.get().get(UPSTREAM);
  }

  private static final class Ignoring implements StreamObserver<CompletionChunk> {
    @Override
    public void onNext(CompletionChunk value) {
    }

    @Override
    public void onError(Throwable t) {
    }

    @Override
    public void onCompleted() {
    }
  }
}
