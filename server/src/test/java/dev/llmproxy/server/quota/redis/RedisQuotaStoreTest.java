package dev.llmproxy.server.quota.redis;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llmproxy.server.quota.FakeClock;
import dev.llmproxy.server.quota.QuotaDecision;
import dev.llmproxy.server.quota.QuotaLimits;
import dev.llmproxy.server.quota.QuotaStore;
import dev.llmproxy.server.quota.QuotaStoreContractTest;
import dev.llmproxy.server.quota.RedisStoreConfig;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/** The store contract against a real redis-server, plus what only the shared store does. */
class RedisQuotaStoreTest extends QuotaStoreContractTest {
  private static RedisServerProcess redis;
  private static RedisClient inspector;
  private static StatefulRedisConnection<String, String> inspection;
  private String prefix;

  /** One server for the class, started by the first test (so a missing binary skips each test visibly). */
  private static void startRedis() throws Exception {
    if (redis == null) {
      redis = RedisServerProcess.start();
      inspector = RedisClient.create(redis.uri());
      inspection = inspector.connect();
    }
  }

  @AfterAll
  static void stopRedis() throws Exception {
    if (inspection != null) {
      inspection.close();
      inspector.shutdown();
    }
    if (redis != null) {
      redis.close();
      redis = null;
    }
  }

  @Override
  protected QuotaStore newStore(FakeClock clock) throws Exception {
    startRedis();
    prefix = "test:" + UUID.randomUUID() + ":";
    return new RedisQuotaStore(config(), clock, new SimpleMeterRegistry());
  }

  private RedisStoreConfig config() {
    return RedisStoreConfig.defaults().withUri(redis.uri()).withKeyPrefix(prefix)
        .withFailure(dev.llmproxy.server.quota.FailureMode.CLOSED, Duration.ofSeconds(2));
  }

  @Override
  protected int inFlight(String subject) {
    return Math.toIntExact(inspection.sync().zcard(prefix + "{" + subject + "}:slots"));
  }

  @Test
  void twoStoresOnOneRedisShareTheSameLimit() throws Exception {
    try (QuotaStore other = new RedisQuotaStore(config(), clock, new SimpleMeterRegistry())) {
      QuotaLimits limits = new QuotaLimits(MINUTE, 3, 0, 0);
      assertThat(acquire("team-a", limits, 1).isAdmitted()).isTrue();
      assertThat(other.acquire("team-a", limits, 1).toCompletableFuture().get().isAdmitted()).isTrue();
      assertThat(acquire("team-a", limits, 1).remainingRequests()).isZero();
      assertThat(other.acquire("team-a", limits, 1).toCompletableFuture().get().isAdmitted()).isFalse();
    }
  }

  @Test
  void aReplicaWhoseClockIsBehindCannotTurnTheBucketsTimeBack() throws Exception {
    FakeClock behind = new FakeClock(clock.millis() - 60_000);
    try (QuotaStore lagging = new RedisQuotaStore(config(), behind, new SimpleMeterRegistry())) {
      QuotaLimits limits = new QuotaLimits(MINUTE, 2, 0, 0);
      acquire("team-a", limits, 1);
      acquire("team-a", limits, 1);
      QuotaDecision d = lagging.acquire("team-a", limits, 1).toCompletableFuture().get();
      assertThat(d.isAdmitted()).isFalse();
      assertThat(d.retryAfter()).isEqualTo(Duration.ofSeconds(30));
    }
  }

  @Test
  void slotsOfAReplicaThatDiedExpireAfterTheirLease() throws Exception {
    QuotaLimits limits = new QuotaLimits(MINUTE, 0, 0, 1);
    assertThat(acquire("team-a", limits, 1).isAdmitted()).isTrue(); // never released
    assertThat(acquire("team-a", limits, 1).isAdmitted()).isFalse();
    clock.advance(RedisStoreConfig.DEFAULT_SLOT_LEASE);
    assertThat(acquire("team-a", limits, 1).isAdmitted()).isTrue();
  }

  @Test
  void keepsNoStateForAnUnlimitedDimension() throws Exception {
    acquire("team-a", new QuotaLimits(MINUTE, 0, 0, 5), 1);
    assertThat(inspection.sync().exists(prefix + "{team-a}:buckets")).isZero();
    acquire("team-b", new QuotaLimits(MINUTE, 5, 0, 0), 1);
    assertThat(inspection.sync().pttl(prefix + "{team-b}:buckets")).isPositive();
  }
}
