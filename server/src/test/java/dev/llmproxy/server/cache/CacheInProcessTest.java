package dev.llmproxy.server.cache;

import static dev.llmproxy.server.cache.CacheClient.API_KEY;
import static dev.llmproxy.server.cache.CacheClient.CACHE_CONTROL;
import static dev.llmproxy.server.cache.CacheClient.header;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.llmproxy.server.ProxyServer;
import dev.llmproxy.server.config.CacheConfig;
import dev.llmproxy.server.config.CacheMode;
import dev.llmproxy.server.config.CacheNamespace;
import dev.llmproxy.server.config.LbPolicy;
import dev.llmproxy.server.config.RouteConfig;
import dev.llmproxy.server.config.ServerConfig;
import dev.llmproxy.server.config.UpstreamEndpoint;
import dev.llmproxy.server.service.ProxyContext;
import dev.llmproxy.server.upstream.RouteTable;
import dev.llmproxy.server.upstream.UpstreamChannelFactory;
import dev.llmproxy.sim.Faults;
import dev.llmproxy.sim.SimulatedBackend;
import dev.llmproxy.sim.SimulatedBackendConfig;
import dev.llmproxy.v1.Completion;
import dev.llmproxy.v1.CompletionChunk;
import dev.llmproxy.v1.CompletionRequest;
import dev.llmproxy.v1.FinishReason;
import dev.llmproxy.v1.Message;
import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The proxy service with its cache served in-process, over a simulated upstream that counts its calls. */
@Timeout(30)
class CacheInProcessTest {
  private final SimpleMeterRegistry meters = new SimpleMeterRegistry();
  private SimulatedBackend upstream;
  private RouteTable routes;
  private Server server;
  private ManagedChannel channel;
  private CacheClient client;

  /** Stands in for the authentication interceptor: the caller's key id from {@code x-api-key}. */
  private static final ServerInterceptor KEY_ID = new ServerInterceptor() {
    @Override
    public <ReqT, RespT> ServerCall.Listener<ReqT> interceptCall(ServerCall<ReqT, RespT> call, Metadata headers,
        ServerCallHandler<ReqT, RespT> next) {
      String key = headers.get(API_KEY);
      Context context = key == null ? Context.current() : Context.current().withValue(ProxyContext.API_KEY_ID, key);
      return Contexts.interceptCall(context, call, headers, next);
    }
  };

  private void start(CacheConfig cache) throws Exception {
    start(cache, SimulatedBackendConfig.defaults("sim-0"));
  }

  private void start(CacheConfig cache, SimulatedBackendConfig sim) throws Exception {
    upstream = SimulatedBackend.start("127.0.0.1", 0, sim);
    List<UpstreamEndpoint> endpoints = List.of(new UpstreamEndpoint("sim-0", upstream.address()));
    RouteConfig chat = new RouteConfig("chat", List.of("chat-model"), true, endpoints, null, null,
        LbPolicy.ROUND_ROBIN, 2, true, 4096, 32, RouteConfig.DEFAULT_FLOW_CONTROL_WINDOW, null);
    RouteConfig code = new RouteConfig("code", List.of("code-model"), false, endpoints, null, null,
        LbPolicy.ROUND_ROBIN, 2, true, 4096, 32, RouteConfig.DEFAULT_FLOW_CONTROL_WINDOW, null);
    UpstreamChannelFactory channels = new UpstreamChannelFactory(4 << 20);
    routes = new RouteTable(List.of(channels.create(chat, endpoints), channels.create(code, endpoints)));
    String name = InProcessServerBuilder.generateName();
    server = InProcessServerBuilder.forName(name).directExecutor()
        .addService(ServerInterceptors.intercept(
            ProxyServer.proxyService(routes, ServerConfig.defaults(), cache, null, meters), KEY_ID))
        .build().start();
    channel = InProcessChannelBuilder.forName(name).directExecutor().build();
    client = new CacheClient(channel);
  }

  @AfterEach
  void stop() throws Exception {
    if (channel != null) {
      channel.shutdownNow();
      server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      routes.close();
    }
    if (upstream != null) {
      upstream.close();
    }
  }

  private static CompletionRequest.Builder deterministic(String prompt) {
    return CompletionRequest.newBuilder().setPrompt(prompt).setTemperature(0).setMaxTokens(16);
  }

  private int upstreamCalls() {
    return upstream.recorder().started();
  }

  private double count(String meter, String tag, String value) {
    return meters.get(meter).tag(tag, value).counter().count();
  }

  @Test
  void aCompleteMissFillsTheEntryThatAStreamReplays() throws Exception {
    start(CacheConfig.defaults());
    CompletionRequest request = deterministic("complete first").build();
    CacheClient.Answer<Completion> miss = client.complete(request);
    CacheClient.Answer<List<CompletionChunk>> hit = client.stream(request);

    assertThat(miss.cache()).isEqualTo("miss");
    assertThat(hit.cache()).isEqualTo("hit");
    assertThat(CacheClient.text(hit.value())).isEqualTo(miss.value().getText());
    CompletionChunk last = hit.value().get(hit.value().size() - 1);
    assertThat(last.getFinishReason()).isEqualTo(miss.value().getFinishReason());
    assertThat(last.getUsage()).isEqualTo(miss.value().getUsage());
    assertThat(last.getId()).isEqualTo(miss.value().getId());
    assertThat(upstreamCalls()).isEqualTo(1);
  }

  @Test
  void aStreamMissFillsTheEntryThatCompleteReplays() throws Exception {
    start(CacheConfig.defaults());
    CompletionRequest request = deterministic("stream first").setModel("chat-model").build();
    CacheClient.Answer<List<CompletionChunk>> miss = client.stream(request);
    CacheClient.Answer<Completion> hit = client.complete(request);

    assertThat(miss.cache()).isEqualTo("miss");
    assertThat(hit.cache()).isEqualTo("hit");
    Completion whole = hit.value();
    assertThat(whole.getText()).isEqualTo(CacheClient.text(miss.value()));
    assertThat(whole.getModel()).isEqualTo("chat-model");
    assertThat(whole.getId()).isEqualTo(miss.value().get(0).getId());
    assertThat(whole.getFinishReason()).isEqualTo(FinishReason.FINISH_REASON_LENGTH);
    assertThat(whole.getUsage().getCompletionTokens()).isEqualTo(16);
    assertThat(upstreamCalls()).isEqualTo(1);
  }

  @Test
  void aReplayedStreamEqualsTheOriginalChunkForChunkWithoutAnUpstreamHeader() throws Exception {
    start(CacheConfig.defaults());
    CompletionRequest request = deterministic("replay me").setMaxTokens(25).build();
    CacheClient.Answer<List<CompletionChunk>> original = client.stream(request);
    CacheClient.Answer<List<CompletionChunk>> replay = client.stream(request);

    assertThat(original.upstream()).isEqualTo("sim-0");
    assertThat(replay.cache()).isEqualTo("hit");
    assertThat(replay.upstream()).isNull();
    assertThat(replay.value()).hasSize(25).containsExactlyElementsOf(original.value());
    assertThat(upstreamCalls()).isEqualTo(1);
  }

  @Test
  void requestsThatMeanTheSameShareAnEntry() throws Exception {
    start(CacheConfig.defaults());
    client.complete(deterministic("same").addStop("a").addStop("b").setMaxTokens(0).build());
    CacheClient.Answer<Completion> again = client.complete(
        deterministic("same").addStop("b").addStop("a").setMaxTokens(32).build()); // 32: the route default
    assertThat(again.cache()).isEqualTo("hit");
    assertThat(client.complete(deterministic("same").setModel("code-model").build()).cache()).isEqualTo("miss");
    assertThat(upstreamCalls()).isEqualTo(2);
  }

  @Test
  void perKeyNamespacesKeepTenantsApart() throws Exception {
    start(CacheConfig.defaults().withNamespace(CacheNamespace.PER_KEY));
    CompletionRequest request = deterministic("tenant data").build();
    assertThat(client.complete(request, header(API_KEY, "tenant-a")).cache()).isEqualTo("miss");
    assertThat(client.complete(request, header(API_KEY, "tenant-a")).cache()).isEqualTo("hit");
    assertThat(client.complete(request, header(API_KEY, "tenant-b")).cache()).isEqualTo("miss");
    assertThat(client.complete(request).cache()).isEqualTo("miss"); // anonymous callers: their own namespace
    assertThat(client.complete(request).cache()).isEqualTo("hit");
    assertThat(upstreamCalls()).isEqualTo(3);
  }

  @Test
  void theSharedNamespaceAnswersEveryTenantFromOneEntry() throws Exception {
    start(CacheConfig.defaults());
    CompletionRequest request = deterministic("common knowledge").build();
    assertThat(client.complete(request, header(API_KEY, "tenant-a")).cache()).isEqualTo("miss");
    assertThat(client.complete(request, header(API_KEY, "tenant-b")).cache()).isEqualTo("hit");
    assertThat(upstreamCalls()).isEqualTo(1);
  }

  @Test
  void noCacheGoesUpstreamAndStoresTheFreshAnswer() throws Exception {
    start(CacheConfig.defaults());
    CompletionRequest request = deterministic("refresh me").build();
    Completion first = client.complete(request).value();
    CacheClient.Answer<Completion> fresh = client.complete(request, header(CACHE_CONTROL, "no-cache"));
    CacheClient.Answer<Completion> after = client.complete(request);

    assertThat(fresh.cache()).isEqualTo("bypass");
    assertThat(fresh.upstream()).isEqualTo("sim-0");
    assertThat(fresh.value().getId()).isNotEqualTo(first.getId()); // a new upstream call made it
    assertThat(after.cache()).isEqualTo("hit");
    assertThat(after.value().getId()).isEqualTo(fresh.value().getId());
    assertThat(upstreamCalls()).isEqualTo(2);
  }

  @Test
  void noStoreNeitherReadsNorStores() throws Exception {
    start(CacheConfig.defaults());
    CompletionRequest stored = deterministic("stored").build();
    client.complete(stored);
    assertThat(client.complete(stored, header(CACHE_CONTROL, "no-store")).cache()).isEqualTo("bypass");
    assertThat(upstreamCalls()).isEqualTo(2);

    CompletionRequest secret = deterministic("do not keep").build();
    CacheClient.Answer<List<CompletionChunk>> once = client.stream(secret, header(CACHE_CONTROL, "No-Store"));
    assertThat(once.cache()).isEqualTo("bypass");
    assertThat(once.value()).hasSize(16);
    assertThat(client.stream(secret).cache()).isEqualTo("miss");
    assertThat(upstreamCalls()).isEqualTo(4);
  }

  @Test
  void onlyDeterministicRequestsAreCachedByDefault() throws Exception {
    start(CacheConfig.defaults());
    CompletionRequest unset = CompletionRequest.newBuilder().setPrompt("sampled").setMaxTokens(8).build();
    CompletionRequest warm = unset.toBuilder().setTemperature(0.7f).build();
    CompletionRequest seeded = warm.toBuilder().setSeed(11).build();
    CompletionRequest cold = unset.toBuilder().setTemperature(0).build();

    assertThat(client.complete(unset).cache()).isEqualTo("bypass");
    assertThat(client.complete(unset).cache()).isEqualTo("bypass");
    assertThat(client.complete(warm).cache()).isEqualTo("bypass");
    assertThat(client.complete(warm).cache()).isEqualTo("bypass");
    assertThat(client.complete(seeded).cache()).isEqualTo("miss");
    assertThat(client.complete(seeded).cache()).isEqualTo("hit");
    assertThat(client.complete(cold).cache()).isEqualTo("miss");
    assertThat(client.stream(cold).cache()).isEqualTo("hit");
    assertThat(upstreamCalls()).isEqualTo(6);
  }

  @Test
  void routeModesWidenOrDisableCachingPerRoute() throws Exception {
    start(CacheConfig.defaults().withModes(CacheMode.DETERMINISTIC,
        Map.of("chat", CacheMode.ALWAYS, "code", CacheMode.OFF)));
    CompletionRequest sampled = CompletionRequest.newBuilder().setPrompt("anything").setTemperature(1.2f).build();
    assertThat(client.complete(sampled).cache()).isEqualTo("miss");
    assertThat(client.complete(sampled).cache()).isEqualTo("hit");

    CompletionRequest code = deterministic("never cached").setModel("code-model").build();
    assertThat(client.complete(code).cache()).isEqualTo("bypass");
    assertThat(client.complete(code).cache()).isEqualTo("bypass");
    assertThat(upstreamCalls()).isEqualTo(3);
  }

  @Test
  void anUnknownCacheControlDirectiveIsInvalidArgumentAndNeverReachesAnUpstream() throws Exception {
    start(CacheConfig.defaults());
    assertThatThrownBy(() -> client.complete(deterministic("typo").build(), header(CACHE_CONTROL, "nocache")))
        .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
          assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
          assertThat(e.getStatus().getDescription())
              .isEqualTo("llmproxy-cache-control: \"nocache\" (expected: no-cache or no-store)");
        });
    assertThat(upstreamCalls()).isZero();
  }

  @Test
  void answersLargerThanTheEntryLimitPassThroughWholeButUncached() throws Exception {
    start(CacheConfig.defaults().withBounds(1 << 20, 1024, Duration.ofMinutes(1)));
    CompletionRequest big = deterministic("a long story").setMaxTokens(400).build();
    CacheClient.Answer<List<CompletionChunk>> first = client.stream(big);
    CacheClient.Answer<Completion> second = client.complete(big);

    assertThat(first.value()).hasSize(400);
    assertThat(second.cache()).isEqualTo("miss");
    assertThat(second.value().getText()).isEqualTo(CacheClient.text(first.value()));
    assertThat(upstreamCalls()).isEqualTo(2);
    assertThat(count("llmproxy.cache.stores", "result", "too_large")).isEqualTo(2);

    CompletionRequest small = deterministic("a short one").setMaxTokens(4).build();
    client.complete(small);
    assertThat(client.complete(small).cache()).isEqualTo("hit");
  }

  @Test
  void aFailedCallIsNotStored() throws Exception {
    start(CacheConfig.defaults(), SimulatedBackendConfig.defaults("sim-0")
        .withFaults(Faults.none().withFailRate(1, Status.Code.RESOURCE_EXHAUSTED)));
    CompletionRequest request = deterministic("fails once").build();
    assertThatThrownBy(() -> client.complete(request)).isInstanceOf(StatusRuntimeException.class);
    upstream.setFaults(Faults.none());
    assertThat(client.complete(request).cache()).isEqualTo("miss");
    assertThat(client.complete(request).cache()).isEqualTo("hit");
    assertThat(upstreamCalls()).isEqualTo(2);
  }

  @Test
  void withoutCoalescingIdenticalCallsInFlightEachGoUpstream() throws Exception {
    start(CacheConfig.defaults().withCoalesce(false),
        SimulatedBackendConfig.defaults("sim-0").withTimeToFirstToken(Duration.ofMillis(300)));
    CompletionRequest request = deterministic("no sharing").build();
    CompletableFuture<CacheClient.Answer<Completion>> first = CompletableFuture.supplyAsync(() -> client.complete(request));
    assertThat(upstream.recorder().await(r -> r.started() == 1, Duration.ofSeconds(5))).isTrue();
    CacheClient.Answer<Completion> second = client.complete(request);
    assertThat(first.get(10, TimeUnit.SECONDS).cache()).isEqualTo("miss");
    assertThat(second.cache()).isEqualTo("miss");
    assertThat(upstreamCalls()).isEqualTo(2);
  }

  @Test
  void aStreamJoiningACompleteInFlightGetsTheWholeAnswerAsOneChunk() throws Exception {
    start(CacheConfig.defaults(),
        SimulatedBackendConfig.defaults("sim-0").withTimeToFirstToken(Duration.ofMillis(300)));
    CompletionRequest request = deterministic("mixed").build();
    CompletableFuture<CacheClient.Answer<Completion>> unary = CompletableFuture.supplyAsync(() -> client.complete(request));
    assertThat(upstream.recorder().await(r -> r.started() == 1, Duration.ofSeconds(5))).isTrue();
    CacheClient.Answer<List<CompletionChunk>> stream = client.stream(request);

    assertThat(stream.cache()).isEqualTo("coalesced");
    assertThat(stream.value()).hasSize(1);
    assertThat(stream.value().get(0).getText()).isEqualTo(unary.get(10, TimeUnit.SECONDS).value().getText());
    assertThat(upstreamCalls()).isEqualTo(1);
  }

  @Test
  void metersCountHitsMissesCoalescedCallsAndBypasses() throws Exception {
    start(CacheConfig.defaults(),
        SimulatedBackendConfig.defaults("sim-0").withTimeToFirstToken(Duration.ofMillis(200)));
    CompletionRequest request = deterministic("counted").build();
    CompletableFuture<CacheClient.Answer<Completion>> leader = CompletableFuture.supplyAsync(() -> client.complete(request));
    assertThat(upstream.recorder().await(r -> r.started() == 1, Duration.ofSeconds(5))).isTrue();
    client.complete(request);
    leader.get(10, TimeUnit.SECONDS);
    client.complete(request);
    client.complete(request, header(CACHE_CONTROL, "no-store"));
    client.complete(request.toBuilder().addMessages(Message.newBuilder().setRole("user").setContent("x"))
        .clearPrompt().clearTemperature().build());

    assertThat(count("llmproxy.cache.requests", "result", "miss")).isEqualTo(1);
    assertThat(count("llmproxy.cache.requests", "result", "coalesced")).isEqualTo(1);
    assertThat(count("llmproxy.cache.requests", "result", "hit")).isEqualTo(1);
    assertThat(count("llmproxy.cache.requests", "result", "bypass")).isEqualTo(2);
    assertThat(count("llmproxy.cache.stores", "result", "stored")).isEqualTo(1);
    assertThat(meters.get("llmproxy.cache.entries").gauge().value()).isEqualTo(1);
  }
}
