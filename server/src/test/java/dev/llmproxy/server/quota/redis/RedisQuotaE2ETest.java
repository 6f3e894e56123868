package dev.llmproxy.server.quota.redis;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llmproxy.server.ProxyServer;
import dev.llmproxy.server.auth.ApiKeyConfig;
import dev.llmproxy.server.auth.AuthConfig;
import dev.llmproxy.server.config.LbPolicy;
import dev.llmproxy.server.config.ProxyConfig;
import dev.llmproxy.server.config.RouteConfig;
import dev.llmproxy.server.config.ServerConfig;
import dev.llmproxy.server.config.UpstreamEndpoint;
import dev.llmproxy.server.quota.FailureMode;
import dev.llmproxy.server.quota.QuotaConfig;
import dev.llmproxy.server.quota.QuotaLimits;
import dev.llmproxy.server.quota.QuotaStoreType;
import dev.llmproxy.server.quota.RedisStoreConfig;
import dev.llmproxy.server.quota.TierConfig;
import dev.llmproxy.sim.SimulatedBackend;
import dev.llmproxy.sim.SimulatedBackendConfig;
import dev.llmproxy.v1.CompletionRequest;
import dev.llmproxy.v1.LlmProxyGrpc;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.MetadataUtils;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Proxies on real sockets sharing quotas through a real redis-server: one global limit across
 * replicas, and the configured behaviour while Redis is stopped or frozen, with recovery.
 */
@Timeout(90)
class RedisQuotaE2ETest {
  private static final Duration HOUR = Duration.ofHours(1);
  private static final Duration STORE_TIMEOUT = Duration.ofMillis(100);

  private RedisServerProcess redis;
  private SimulatedBackend upstream;
  private final List<ProxyServer> proxies = new ArrayList<>();
  private final List<ManagedChannel> channels = new ArrayList<>();
  private final List<SimpleMeterRegistry> meters = new ArrayList<>();
  private final ExecutorService clients = Executors.newFixedThreadPool(24);
  private final String prefix = "e2e:" + UUID.randomUUID() + ":";

  @BeforeEach
  void start() throws Exception {
    redis = RedisServerProcess.start();
    upstream = SimulatedBackend.start("127.0.0.1", 0, SimulatedBackendConfig.defaults("sim"));
  }

  @AfterEach
  void stop() throws Exception {
    clients.shutdownNow();
    channels.forEach(ManagedChannel::shutdownNow);
    proxies.forEach(ProxyServer::close);
    if (upstream != null) {
      upstream.close();
    }
    if (redis != null) {
      redis.close();
    }
  }

  /** A proxy whose key {@code team-a} is held to {@code requests} per hour, counted in the shared Redis. */
  private LlmProxyGrpc.LlmProxyBlockingStub startProxy(long requests, FailureMode onFailure) throws Exception {
    return startProxy(requests, onFailure, STORE_TIMEOUT);
  }

  private LlmProxyGrpc.LlmProxyBlockingStub startProxy(long requests, FailureMode onFailure, Duration storeTimeout)
      throws Exception {
    AuthConfig auth = new AuthConfig("x-api-key",
        List.of(ApiKeyConfig.hashed("team-a", ApiKeyConfig.sha256Hex("secret-a"), "shared", List.of())), null);
    QuotaConfig quota = new QuotaConfig(QuotaStoreType.REDIS,
        RedisStoreConfig.defaults().withUri(redis.uri()).withKeyPrefix(prefix).withFailure(onFailure, storeTimeout),
        List.of(new TierConfig("shared", new QuotaLimits(HOUR, requests, 0, 0))));
    ProxyConfig config = new ProxyConfig(ServerConfig.defaults().withAddress("127.0.0.1", 0),
        List.of(RouteConfig.forUpstreams(List.of(new UpstreamEndpoint("sim", upstream.address())), LbPolicy.PICK_FIRST)))
        .withAccess(auth, quota);
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    ProxyServer proxy = ProxyServer.start(config, registry);
    proxies.add(proxy);
    meters.add(registry);
    ManagedChannel channel = NettyChannelBuilder.forAddress("127.0.0.1", proxy.port()).usePlaintext().build();
    channels.add(channel);
    // Ready once the quota store answers, as a readiness probe would wait for.
    io.grpc.health.v1.HealthGrpc.HealthBlockingStub health = io.grpc.health.v1.HealthGrpc.newBlockingStub(channel);
    org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(20)).ignoreExceptions().until(() -> health
        .withDeadlineAfter(5, java.util.concurrent.TimeUnit.SECONDS)
        .check(io.grpc.health.v1.HealthCheckRequest.getDefaultInstance()).getStatus()
        == io.grpc.health.v1.HealthCheckResponse.ServingStatus.SERVING);
    Metadata key = new Metadata();
    key.put(Metadata.Key.of("x-api-key", Metadata.ASCII_STRING_MARSHALLER), "secret-a");
    return LlmProxyGrpc.newBlockingStub(channel).withInterceptors(MetadataUtils.newAttachHeadersInterceptor(key));
  }

  private static Status.Code call(LlmProxyGrpc.LlmProxyBlockingStub stub) {
    try {
      stub.withDeadlineAfter(10, TimeUnit.SECONDS)
          .complete(CompletionRequest.newBuilder().setPrompt("shared quota").setMaxTokens(2).build());
      return Status.Code.OK;
    } catch (StatusRuntimeException e) {
      return e.getStatus().getCode();
    }
  }

  private static Map<Status.Code, Integer> tally(List<Status.Code> codes) {
    Map<Status.Code, Integer> counts = new EnumMap<>(Status.Code.class);
    codes.forEach(c -> counts.merge(c, 1, Integer::sum));
    return counts;
  }

  private static double failures(SimpleMeterRegistry registry) {
    return registry.find("llmproxy.quota.store.failures").tag("operation", "acquire").counters().stream()
        .mapToDouble(c -> c.count()).sum();
  }

  @Test
  void threeProxiesSharingRedisAdmitExactlyTheGlobalLimitBetweenThem() throws Exception {
    // A generous bound: this test is about exactness, and a cold JVM on a shared machine is slow.
    Duration bound = Duration.ofSeconds(5);
    List<LlmProxyGrpc.LlmProxyBlockingStub> stubs = List.of(startProxy(30, FailureMode.CLOSED, bound),
        startProxy(30, FailureMode.CLOSED, bound), startProxy(30, FailureMode.CLOSED, bound));
    List<CompletableFuture<Status.Code>> calls = new ArrayList<>();
    for (int i = 0; i < 120; i++) {
      LlmProxyGrpc.LlmProxyBlockingStub stub = stubs.get(i % 3);
      calls.add(CompletableFuture.supplyAsync(() -> call(stub), clients));
    }
    List<Status.Code> codes = new ArrayList<>();
    for (CompletableFuture<Status.Code> c : calls) {
      codes.add(c.get(30, TimeUnit.SECONDS));
    }
    assertThat(tally(codes)).containsOnly(Map.entry(Status.Code.OK, 30), Map.entry(Status.Code.RESOURCE_EXHAUSTED, 90));
    assertThat(upstream.recorder().started()).isEqualTo(30);
  }

  @Test
  void failingOpenAdmitsCallsWhileRedisIsDownAndCountsAgainOnceItIsBack() throws Exception {
    LlmProxyGrpc.LlmProxyBlockingStub stub = startProxy(2, FailureMode.OPEN);
    assertThat(call(stub)).isEqualTo(Status.Code.OK);
    assertThat(call(stub)).isEqualTo(Status.Code.OK);
    assertThat(call(stub)).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);

    redis.stop();
    for (int i = 0; i < 5; i++) {
      long start = System.nanoTime();
      assertThat(call(stub)).isEqualTo(Status.Code.OK);
      assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(STORE_TIMEOUT.plusSeconds(2));
    }
    assertThat(failures(meters.get(0))).isGreaterThanOrEqualTo(5);

    redis.restart(); // empty: the hour's count starts again
    assertThat(eventuallyRefused(stub)).as("Redis counts again after its restart").isTrue();
  }

  @Test
  void failingClosedRefusesCallsAsUnavailableWhileRedisIsDownAndRecovers() throws Exception {
    LlmProxyGrpc.LlmProxyBlockingStub stub = startProxy(100, FailureMode.CLOSED);
    assertThat(call(stub)).isEqualTo(Status.Code.OK);

    redis.stop();
    long start = System.nanoTime();
    assertThat(call(stub)).isEqualTo(Status.Code.UNAVAILABLE);
    assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(STORE_TIMEOUT.plusSeconds(2));
    assertThat(upstream.recorder().started()).isEqualTo(1);

    redis.restart();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    Status.Code code = call(stub);
    while (code != Status.Code.OK && System.nanoTime() < deadline) {
      Thread.sleep(50);
      code = call(stub);
    }
    assertThat(code).as("admitted again after Redis restarted").isEqualTo(Status.Code.OK);
  }

  @Test
  void noCallWaitsPastTheBoundWhenRedisHangs() throws Exception {
    LlmProxyGrpc.LlmProxyBlockingStub open = startProxy(100, FailureMode.OPEN);
    LlmProxyGrpc.LlmProxyBlockingStub closed = startProxy(100, FailureMode.CLOSED);
    for (int i = 0; i < 10; i++) { // warm up, so the timings below are not the JIT's
      assertThat(call(open)).isEqualTo(Status.Code.OK);
      assertThat(call(closed)).isEqualTo(Status.Code.OK);
    }

    redis.pause(); // connections stay up, nothing is answered
    try {
      List<CompletableFuture<Long>> timings = new ArrayList<>();
      for (int i = 0; i < 20; i++) {
        LlmProxyGrpc.LlmProxyBlockingStub stub = i % 2 == 0 ? open : closed;
        Status.Code expected = i % 2 == 0 ? Status.Code.OK : Status.Code.UNAVAILABLE;
        timings.add(CompletableFuture.supplyAsync(() -> {
          long start = System.nanoTime();
          assertThat(call(stub)).isEqualTo(expected);
          return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        }, clients));
      }
      for (CompletableFuture<Long> millis : timings) {
        // The bound is the store's 100ms; the rest is client and proxy work on a shared 2-core machine.
        assertThat(millis.get(10, TimeUnit.SECONDS)).isLessThan(STORE_TIMEOUT.toMillis() + 2000);
      }
    } finally {
      redis.resume();
    }
    assertThat(eventuallyOk(closed)).as("answers again once Redis is thawed").isTrue();
  }

  /** Makes calls until one is refused for quota, which only a Redis that answers can do. */
  private static boolean eventuallyRefused(LlmProxyGrpc.LlmProxyBlockingStub stub) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (System.nanoTime() < deadline) {
      if (call(stub) == Status.Code.RESOURCE_EXHAUSTED) {
        return true;
      }
      Thread.sleep(50);
    }
    return false;
  }

  private static boolean eventuallyOk(LlmProxyGrpc.LlmProxyBlockingStub stub) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (System.nanoTime() < deadline) {
      if (call(stub) == Status.Code.OK) {
        return true;
      }
      Thread.sleep(50);
    }
    return false;
  }
}
