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
import io.grpc.ManagedChannel;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Readiness with the Redis quota store: the proxy's health service reports NOT_SERVING until Redis
 * has answered, so a readiness probe holds traffic back while the store connects.
 */
@Timeout(60)
class RedisReadinessE2ETest {
  private RedisServerProcess redis;
  private SimulatedBackend upstream;
  private ProxyServer proxy;
  private ManagedChannel channel;

  @BeforeEach
  void start() throws Exception {
    redis = RedisServerProcess.start();
    upstream = SimulatedBackend.start("127.0.0.1", 0, SimulatedBackendConfig.defaults("sim"));
  }

  @AfterEach
  void stop() {
    if (channel != null) {
      channel.shutdownNow();
    }
    if (proxy != null) {
      proxy.close();
    }
    upstream.close();
    redis.close();
  }

  private void startProxy() throws Exception {
    AuthConfig auth = new AuthConfig("x-api-key",
        List.of(ApiKeyConfig.hashed("team-a", ApiKeyConfig.sha256Hex("secret-a"), "shared", List.of())), null);
    QuotaConfig quota = new QuotaConfig(QuotaStoreType.REDIS, RedisStoreConfig.defaults().withUri(redis.uri())
        .withKeyPrefix("ready:" + UUID.randomUUID() + ":").withFailure(FailureMode.CLOSED, Duration.ofMillis(200)),
        List.of(new TierConfig("shared", new QuotaLimits(Duration.ofHours(1), 30, 0, 0))));
    ProxyConfig config = new ProxyConfig(ServerConfig.defaults().withAddress("127.0.0.1", 0),
        List.of(RouteConfig.forUpstreams(List.of(new UpstreamEndpoint("sim", upstream.address())), LbPolicy.PICK_FIRST)))
        .withAccess(auth, quota);
    proxy = ProxyServer.start(config);
    channel = NettyChannelBuilder.forAddress("127.0.0.1", proxy.port()).usePlaintext().build();
  }

  private ServingStatus health() {
    return HealthGrpc.newBlockingStub(channel).withDeadlineAfter(5, TimeUnit.SECONDS)
        .check(HealthCheckRequest.newBuilder().setService("llmproxy.v1.LlmProxy").build()).getStatus();
  }

  private boolean eventuallyServing(Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      if (health() == ServingStatus.SERVING) {
        return true;
      }
      Thread.sleep(50);
    }
    return health() == ServingStatus.SERVING;
  }

  @Test
  void reportsNotServingUntilRedisAnswersThenServing() throws Exception {
    redis.stop();
    startProxy();
    // Redis is down: the proxy listens, but is not ready, and stays so while Redis stays down.
    assertThat(health()).isEqualTo(ServingStatus.NOT_SERVING);
    assertThat(eventuallyServing(Duration.ofSeconds(2))).isFalse();
    redis.restart();
    assertThat(eventuallyServing(Duration.ofSeconds(20))).as("SERVING once Redis answers").isTrue();
  }

  @Test
  void isServingSoonAfterStartWhenRedisIsUp() throws Exception {
    startProxy();
    assertThat(eventuallyServing(Duration.ofSeconds(20))).isTrue();
  }
}
