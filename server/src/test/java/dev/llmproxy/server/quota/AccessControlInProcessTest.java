package dev.llmproxy.server.quota;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.rpc.QuotaFailure;
import com.google.rpc.RetryInfo;
import dev.llmproxy.server.ProxyServer;
import dev.llmproxy.server.auth.ApiKeyConfig;
import dev.llmproxy.server.auth.AuthConfig;
import dev.llmproxy.server.config.CacheConfig;
import dev.llmproxy.server.config.LbPolicy;
import dev.llmproxy.server.config.RouteConfig;
import dev.llmproxy.server.config.ServerConfig;
import dev.llmproxy.server.config.UpstreamEndpoint;
import dev.llmproxy.server.quota.memory.InMemoryQuotaStore;
import dev.llmproxy.server.upstream.RouteTable;
import dev.llmproxy.server.upstream.UpstreamChannelFactory;
import dev.llmproxy.sim.Faults;
import dev.llmproxy.sim.SimulatedBackend;
import dev.llmproxy.sim.SimulatedBackendConfig;
import dev.llmproxy.v1.CompletionChunk;
import dev.llmproxy.v1.CompletionRequest;
import dev.llmproxy.v1.LlmProxyGrpc;
import io.grpc.ClientInterceptor;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.protobuf.StatusProto;
import io.grpc.stub.MetadataUtils;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The authentication and quota interceptors in the proxy's real interceptor chain, served
 * in-process over a simulated upstream, with the in-memory store on a fake clock.
 */
@Timeout(30)
class AccessControlInProcessTest {
  private static final Duration MINUTE = Duration.ofMinutes(1);
  private static final Metadata.Key<String> API_KEY = Metadata.Key.of("x-api-key", Metadata.ASCII_STRING_MARSHALLER);
  private static final Metadata.Key<String> AUTHORIZATION =
      Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);

  private final FakeClock clock = new FakeClock();
  private final InMemoryQuotaStore store = new InMemoryQuotaStore(clock);
  private SimulatedBackend upstream;
  private RouteTable routes;
  private Server server;
  private ManagedChannel channel;

  @BeforeEach
  void startUpstream() throws Exception {
    upstream = SimulatedBackend.start("127.0.0.1", 0, SimulatedBackendConfig.defaults("sim"));
    UpstreamChannelFactory channels = new UpstreamChannelFactory(4 << 20);
    List<UpstreamEndpoint> endpoints = List.of(new UpstreamEndpoint("sim", upstream.address()));
    RouteConfig chat = new RouteConfig("chat", List.of("chat-model"), true, endpoints, null, null,
        LbPolicy.PICK_FIRST, 2, false, 4096, 16, RouteConfig.DEFAULT_FLOW_CONTROL_WINDOW, null);
    RouteConfig code = new RouteConfig("code", List.of("code-model"), false, endpoints, null, null,
        LbPolicy.PICK_FIRST, 2, false, 4096, 16, RouteConfig.DEFAULT_FLOW_CONTROL_WINDOW, null);
    routes = new RouteTable(List.of(channels.create(chat, endpoints), channels.create(code, endpoints)));
  }

  /** team-a: 3 requests, 1000 tokens a minute, 1 call at a time; team-b: chat-model only; free: 2 requests. */
  private void startProxy(boolean anonymous) throws Exception {
    AuthConfig auth = new AuthConfig("x-api-key", List.of(
        ApiKeyConfig.hashed("team-a", ApiKeyConfig.sha256Hex("secret-a"), "small", List.of()),
        ApiKeyConfig.plaintextDevOnly("team-b", "secret-b", "small", List.of("chat-model")),
        ApiKeyConfig.plaintextDevOnly("unlimited", "secret-u", null, List.of())),
        anonymous ? "free" : null);
    QuotaConfig quota = new QuotaConfig(QuotaStoreType.MEMORY, RedisStoreConfig.defaults(), List.of(
        new TierConfig("small", new QuotaLimits(MINUTE, 3, 1000, 1)),
        new TierConfig("free", new QuotaLimits(MINUTE, 2, 0, 0))));
    SimpleMeterRegistry meters = new SimpleMeterRegistry();
    String name = InProcessServerBuilder.generateName();
    server = InProcessServerBuilder.forName(name).directExecutor()
        .addService(ProxyServer.proxyService(routes, ServerConfig.defaults(), CacheConfig.disabled(),
            AccessControl.of(auth, quota, store, meters), meters))
        .build().start();
    channel = InProcessChannelBuilder.forName(name).directExecutor().build();
  }

  @AfterEach
  void stop() throws Exception {
    if (channel != null) {
      channel.shutdownNow();
      server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
    routes.close();
    upstream.close();
  }

  /** A unary call's status with the response headers and trailers the client saw. */
  private record Outcome(Status status, Metadata headers, Metadata trailers) {
    String header(String name) {
      Metadata.Key<String> key = Metadata.Key.of(name, Metadata.ASCII_STRING_MARSHALLER);
      return headers != null && headers.get(key) != null ? headers.get(key) : trailers.get(key);
    }
  }

  private Outcome complete(Metadata.Key<String> header, String value, CompletionRequest request) {
    AtomicReference<Metadata> headers = new AtomicReference<>();
    AtomicReference<Metadata> trailers = new AtomicReference<>();
    try {
      stub(header, value, MetadataUtils.newCaptureMetadataInterceptor(headers, trailers)).complete(request);
      return new Outcome(Status.OK, headers.get(), trailers.get());
    } catch (StatusRuntimeException e) {
      return new Outcome(e.getStatus(), headers.get(), e.getTrailers());
    }
  }

  private Outcome complete(String key, CompletionRequest request) {
    return complete(API_KEY, key, request);
  }

  private LlmProxyGrpc.LlmProxyBlockingStub stub(Metadata.Key<String> header, String value,
      ClientInterceptor... more) {
    Metadata extra = new Metadata();
    if (value != null) {
      extra.put(header, value);
    }
    return LlmProxyGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS)
        .withInterceptors(more).withInterceptors(MetadataUtils.newAttachHeadersInterceptor(extra));
  }

  private static CompletionRequest prompt(String text, int maxTokens) {
    return CompletionRequest.newBuilder().setPrompt(text).setMaxTokens(maxTokens).build();
  }

  private static long estimate(CompletionRequest request) {
    return new TokenEstimator().estimate(request, 16);
  }

  @Test
  void aPresentedKeyThatIsUnknownIsUnauthenticatedEvenWithAnAnonymousTierAndIsNeverEchoed() throws Exception {
    startProxy(true);
    Outcome outcome = complete("not-a-key-1234", prompt("hi", 2));
    assertThat(outcome.status().getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
    assertThat(outcome.status().getDescription()).contains("not recognised").doesNotContain("not-a-key-1234");
    assertThat(upstream.recorder().started()).isZero();
  }

  @Test
  void aMissingKeyIsUnauthenticatedWhenThereIsNoAnonymousTier() throws Exception {
    startProxy(false);
    Outcome outcome = complete(null, prompt("hi", 2));
    assertThat(outcome.status().getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
    assertThat(outcome.status().getDescription()).contains("missing").contains("x-api-key");
    assertThat(upstream.recorder().started()).isZero();
  }

  @Test
  void callersWithoutAKeyShareTheAnonymousTier() throws Exception {
    startProxy(true);
    assertThat(complete(null, prompt("hi", 2)).header("llmproxy-ratelimit-remaining-requests")).isEqualTo("1");
    assertThat(complete(null, prompt("hi", 2)).header("llmproxy-ratelimit-remaining-requests")).isEqualTo("0");
    Outcome refused = complete(null, prompt("hi", 2));
    assertThat(refused.status().getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
    assertThat(refused.status().getDescription()).contains("anonymous callers").contains("requests limit 2 per 1m");
  }

  @Test
  void conflictingCredentialsAreRefusedAsAmbiguous() throws Exception {
    startProxy(false);
    Metadata twoKeys = new Metadata();
    twoKeys.put(API_KEY, "secret-u");
    twoKeys.put(API_KEY, "secret-a");
    Metadata keyAndOtherBearer = new Metadata();
    keyAndOtherBearer.put(API_KEY, "secret-u");
    keyAndOtherBearer.put(AUTHORIZATION, "Bearer wrong-key");
    Metadata twoBearers = new Metadata();
    twoBearers.put(AUTHORIZATION, "Bearer secret-u");
    twoBearers.put(AUTHORIZATION, "Bearer secret-a");
    for (Metadata headers : List.of(twoKeys, keyAndOtherBearer, twoBearers)) {
      StatusRuntimeException e = org.assertj.core.api.Assertions.catchThrowableOfType(StatusRuntimeException.class,
          () -> LlmProxyGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS)
              .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers)).complete(prompt("hi", 2)));
      assertThat(e).as(headers.toString()).isNotNull();
      assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
      assertThat(e.getStatus().getDescription()).startsWith("ambiguous credentials")
          .doesNotContain("secret").doesNotContain("wrong-key");
    }
    assertThat(upstream.recorder().started()).isZero();
    // The same key twice over, once in each header, is one key.
    Metadata same = new Metadata();
    same.put(API_KEY, "secret-u");
    same.put(AUTHORIZATION, "Bearer secret-u");
    assertThat(LlmProxyGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS)
        .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(same)).complete(prompt("hi", 2)).getText())
        .isNotEmpty();
  }

  @Test
  void acceptsTheKeyAsABearerTokenAndRefusesOtherAuthorizationSchemes() throws Exception {
    startProxy(false);
    assertThat(complete(AUTHORIZATION, "Bearer secret-a", prompt("hi", 2)).status().isOk()).isTrue();
    Outcome basic = complete(AUTHORIZATION, "Basic c2VjcmV0LWE=", prompt("hi", 2));
    assertThat(basic.status().getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
    assertThat(basic.status().getDescription()).contains("Bearer").doesNotContain("c2VjcmV0LWE=");
  }

  @Test
  void admittedCallsReportWhatIsLeftAndTheCallOverTheLimitIsExhaustedWithRetryDetails() throws Exception {
    startProxy(false);
    CompletionRequest request = prompt("Tell me about proxies", 5);
    for (int left = 2; left >= 0; left--) {
      Outcome ok = complete("secret-a", request);
      assertThat(ok.status().isOk()).isTrue();
      assertThat(ok.header("llmproxy-ratelimit-remaining-requests")).isEqualTo(Integer.toString(left));
      assertThat(ok.header("llmproxy-ratelimit-remaining-tokens")).isNotNull();
    }
    Outcome refused = complete("secret-a", request);
    assertThat(refused.status().getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
    assertThat(refused.status().getDescription())
        .contains("key 'team-a'").contains("requests limit 3 per 1m").doesNotContain("secret-a");
    assertThat(refused.trailers().get(QuotaRejection.RETRY_PUSHBACK)).isEqualTo("20000");
    com.google.rpc.Status details = StatusProto.fromStatusAndTrailers(refused.status(), refused.trailers());
    assertThat(details.getDetailsList()).hasSize(2);
    RetryInfo retry = details.getDetails(0).unpack(RetryInfo.class);
    assertThat(retry.getRetryDelay().getSeconds()).isEqualTo(20);
    QuotaFailure failure = details.getDetails(1).unpack(QuotaFailure.class);
    assertThat(failure.getViolations(0).getSubject()).isEqualTo("api_key:team-a");
    assertThat(failure.getViolations(0).getQuotaMetric()).isEqualTo("llmproxy/requests");
    assertThat(failure.getViolations(0).getQuotaValue()).isEqualTo(3);
    assertThat(upstream.recorder().started()).isEqualTo(3);
  }

  @Test
  void aKeyLimitedToSomeModelsIsDeniedOthers() throws Exception {
    startProxy(false);
    Outcome denied = complete("secret-b", prompt("hi", 2).toBuilder().setModel("code-model").build());
    assertThat(denied.status().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
    assertThat(denied.status().getDescription()).contains("code-model").contains("team-b");
    assertThat(complete("secret-b", prompt("hi", 2).toBuilder().setModel("chat-model").build()).status().isOk())
        .isTrue();
    assertThat(complete("secret-b", prompt("hi", 2)).status().isOk()).as("the default route serves chat-model")
        .isTrue();
    assertThat(upstream.recorder().started()).isEqualTo(2);
  }

  @Test
  void aStreamWhoseRealUsageExceedsItsEstimateIsChargedTheRealUsage() throws Exception {
    startProxy(false);
    // 16 one-letter words: the simulated upstream counts 16 prompt tokens, the estimate 8 (31 chars / 4).
    CompletionRequest words = prompt("a b c d e f g h i j k l m n o p", 10);
    assertThat(estimate(words)).isEqualTo(18);
    Iterator<CompletionChunk> chunks = stub(API_KEY, "secret-a").streamComplete(words);
    CompletionChunk last = null;
    while (chunks.hasNext()) {
      last = chunks.next();
    }
    assertThat(last.getUsage().getTotalTokens()).isEqualTo(26);

    CompletionRequest next = prompt("hi", 1);
    Outcome after = complete("secret-a", next);
    assertThat(after.header("llmproxy-ratelimit-remaining-tokens"))
        .isEqualTo(Long.toString(1000 - 26 - estimate(next)));
  }

  @Test
  void theUnusedPartOfAReservationIsReturned() throws Exception {
    startProxy(false);
    // 32 characters estimate 8 prompt tokens; the upstream counts 6 words.
    CompletionRequest request = prompt("Tell me about proxies and caches", 20);
    assertThat(complete("secret-a", request).header("llmproxy-ratelimit-remaining-tokens")).isEqualTo("972");
    Outcome after = complete("secret-a", prompt("hi", 1));
    assertThat(after.header("llmproxy-ratelimit-remaining-tokens")).isEqualTo(Long.toString(1000 - 26 - 2));
  }

  @Test
  void aCallThatFailsUpstreamBeforeAnsweringGivesBackItsRequestAndTokens() throws Exception {
    startProxy(false);
    upstream.setFaults(Faults.none().withFailRate(1.0, Status.Code.UNAVAILABLE));
    Outcome failed = complete("secret-a", prompt("hi", 4));
    assertThat(failed.status().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
    assertThat(failed.header("llmproxy-ratelimit-remaining-requests")).as("trailers-only response").isEqualTo("2");
    upstream.setFaults(Faults.none());
    Outcome next = complete("secret-a", prompt("hi", 4));
    assertThat(next.header("llmproxy-ratelimit-remaining-requests")).isEqualTo("2");
    assertThat(next.header("llmproxy-ratelimit-remaining-tokens")).isEqualTo(Long.toString(1000 - 5));
  }

  @Test
  void aKeyWithoutATierIsNotCountedAndGetsNoQuotaHeaders() throws Exception {
    startProxy(false);
    for (int i = 0; i < 5; i++) {
      Outcome ok = complete("secret-u", prompt("hi", 2));
      assertThat(ok.status().isOk()).isTrue();
      assertThat(ok.header("llmproxy-ratelimit-remaining-requests")).isNull();
    }
  }

  @Test
  void aSecondCallWhileTheOnlySlotIsTakenIsExhaustedNamingConcurrency() throws Exception {
    startProxy(false);
    upstream.setFaults(Faults.none().withStallAfterTokens(1));
    Iterator<CompletionChunk> held = stub(API_KEY, "secret-a").withDeadlineAfter(2, TimeUnit.SECONDS)
        .streamComplete(prompt("hold the slot", 5));
    held.next();
    Outcome refused = complete("secret-a", prompt("hi", 2));
    assertThat(refused.status().getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
    assertThat(refused.status().getDescription()).contains("concurrent calls limit 1");
    assertThat(refused.trailers().get(QuotaRejection.RETRY_PUSHBACK)).isEqualTo("1000");
  }

  @Test
  void aCallWhoseMessageHasNotArrivedHoldsItsKeysSlotFromTheHeadersOn() throws Exception {
    startProxy(false);
    Metadata key = new Metadata();
    key.put(API_KEY, "secret-a");
    // Headers sent, request message never: the way an attacker holds unfinished requests in memory.
    io.grpc.ClientCall<CompletionRequest, CompletionChunk> unfinished =
        channel.newCall(LlmProxyGrpc.getStreamCompleteMethod(), io.grpc.CallOptions.DEFAULT);
    java.util.concurrent.CompletableFuture<Status> unfinishedEnd = new java.util.concurrent.CompletableFuture<>();
    unfinished.start(new io.grpc.ClientCall.Listener<>() {
      @Override
      public void onClose(Status status, Metadata trailers) {
        unfinishedEnd.complete(status);
      }
    }, key);
    unfinished.request(1);

    Outcome refused = complete("secret-a", prompt("hi", 2));
    assertThat(refused.status().getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
    assertThat(refused.status().getDescription()).contains("concurrent calls limit 1");
    assertThat(upstream.recorder().started()).as("nothing reached the upstream").isZero();
    // Another key is not affected, and the slot comes back when the unfinished call ends.
    assertThat(complete("secret-b", prompt("hi", 2)).status().getCode()).isEqualTo(Status.Code.OK);
    unfinished.cancel("giving up", null);
    assertThat(unfinishedEnd.get(10, TimeUnit.SECONDS).getCode()).isEqualTo(Status.Code.CANCELLED);
    // Refusals at the headers take nothing from the key's request budget, so polling is free.
    org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10))
        .until(() -> complete("secret-a", prompt("hi", 2)).status().isOk());
  }
}
