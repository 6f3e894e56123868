package dev.llmproxy.server.quota.redis;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llmproxy.server.config.ConfigLoader;
import dev.llmproxy.server.quota.FailureMode;
import dev.llmproxy.server.quota.QuotaLimits;
import dev.llmproxy.server.quota.RedisStoreConfig;
import io.lettuce.core.RedisClient;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.InstantSource;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The quota store reaches a Redis that requires a password with the one read from a file. */
@Timeout(60)
class RedisQuotaStorePasswordTest {
  private RedisServerProcess redis;

  @BeforeEach
  void start() throws Exception {
    redis = RedisServerProcess.start();
    RedisClient admin = RedisClient.create(redis.uri());
    try (var connection = admin.connect()) {
      connection.sync().configSet("requirepass", "quota-secret");
    } finally {
      admin.shutdown();
    }
  }

  @AfterEach
  void stop() {
    redis.close();
  }

  @Test
  void connectsWithThePasswordFromAFileAndAdmits(@TempDir Path dir) throws Exception {
    Path secret = Files.writeString(dir.resolve("redis-password"), "quota-secret\n");
    RedisStoreConfig config = new ConfigLoader().parse("""
        routes: [{name: r, default: true, upstreams: ["127.0.0.1:7001"]}]
        auth: {keys: [{id: k, plaintext_dev_only: x}]}
        quota:
          store: redis
          redis: {uri: "%s", password: {file: "%s"}, on_failure: closed, timeout: 2s}
        """.formatted(redis.uri(), secret)).quota().redis();
    assertThat(config.password()).hasToString("{file: " + secret + "}"); // never the secret itself
    assertThat(config.onFailure()).isEqualTo(FailureMode.CLOSED);

    try (RedisQuotaStore store = new RedisQuotaStore(config, InstantSource.system(), new SimpleMeterRegistry())) {
      store.ready().toCompletableFuture().get(20, TimeUnit.SECONDS);
      assertThat(store.acquire("k", new QuotaLimits(Duration.ofMinutes(1), 5, 0, 0), 1)
          .toCompletableFuture().get(20, TimeUnit.SECONDS).isAdmitted()).isTrue();
    }
  }

  @Test
  void aRotatedPasswordFileIsUsedFromTheNextConnectionOnWithoutARestart(@TempDir Path dir) throws Exception {
    Path secret = Files.writeString(dir.resolve("redis-password"), "quota-secret\n");
    RedisStoreConfig config = new ConfigLoader().parse("""
        routes: [{name: r, default: true, upstreams: ["127.0.0.1:7001"]}]
        auth: {keys: [{id: k, plaintext_dev_only: x}]}
        quota:
          store: redis
          redis: {uri: "%s", password: {file: "%s"}, on_failure: closed, timeout: 2s}
        """.formatted(redis.uri(), secret)).quota().redis();
    QuotaLimits limits = new QuotaLimits(Duration.ofMinutes(1), 100, 0, 0);
    try (RedisQuotaStore store = new RedisQuotaStore(config, InstantSource.system(), new SimpleMeterRegistry())) {
      store.ready().toCompletableFuture().get(20, TimeUnit.SECONDS);
      assertThat(store.acquire("k", limits, 1).toCompletableFuture().get(20, TimeUnit.SECONDS).isAdmitted()).isTrue();

      // The password is rotated: Redis first, then the file (as a Secret update would), and the
      // store's connection is cut, so it must authenticate again.
      RedisClient admin = RedisClient.create(redis.uri().replace("redis://", "redis://:quota-secret@"));
      try (var connection = admin.connect()) {
        connection.sync().configSet("requirepass", "rotated-secret");
        Files.writeString(secret, "rotated-secret\n");
        connection.sync().clientKill(io.lettuce.core.KillArgs.Builder.typeNormal().skipme());
      } finally {
        admin.shutdown();
      }
      org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> {
        try {
          return store.acquire("k", limits, 1).toCompletableFuture().get(5, TimeUnit.SECONDS).isAdmitted();
        } catch (Exception e) {
          return false;
        }
      });
    }
  }
}
