package dev.llmproxy.server.quota.bench;

import dev.llmproxy.server.quota.FailureMode;
import dev.llmproxy.server.quota.QuotaDecision;
import dev.llmproxy.server.quota.QuotaLimits;
import dev.llmproxy.server.quota.RedisStoreConfig;
import dev.llmproxy.server.quota.redis.RedisQuotaStore;
import dev.llmproxy.server.quota.redis.RedisServerProcess;
import io.github.bucket4j.BucketConfiguration;
import io.github.bucket4j.distributed.AsyncBucketProxy;
import io.github.bucket4j.distributed.ExpirationAfterWriteStrategy;
import io.github.bucket4j.redis.lettuce.Bucket4jLettuce;
import io.github.bucket4j.redis.lettuce.cas.LettuceBasedProxyManager;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.sync.RedisCommands;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.InstantSource;
import java.util.Arrays;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

/**
 * Latency of one quota check against a real redis-server on loopback, as a caller sees it (from
 * the call to the decision): {@link RedisQuotaStore} (one {@code EVALSHA} of our Lua script) next to
 * Bucket4j's Lettuce backend (optimistic compare-and-swap from the client), one caller at a time and
 * 16 callers in flight on one hot key. Workload: 5,000 warm-up checks, then 20,000 measured, limits
 * large enough that nothing is refused. {@code scripts} and {@code commands} count what Redis ran per
 * check: ours is one script for the acquire and one for the release; Bucket4j runs a read and a
 * compare-and-swap script per attempt, and attempts again whenever a concurrent one got there first. It starts and stops its own redis-server ({@code
 * --save '' --appendonly no}).
 *
 * <p>Run (after {@code ./mvnw -q install -DskipTests}):
 * <pre>
 * ./mvnw -q -pl server test-compile dependency:build-classpath -Dmdep.outputFile=target/test.cp -Dmdep.includeScope=test
 * java -cp server/target/test-classes:server/target/classes:$(cat server/target/test.cp) \
 *     dev.llmproxy.server.quota.bench.RedisQuotaBench
 * </pre>
 */
public final class RedisQuotaBench {
  private static final int WARMUP = 5_000;
  private static final int MEASURED = 20_000;
  private static final Duration MINUTE = Duration.ofMinutes(1);
  private static final long HUGE = 1_000_000_000L;

  private RedisQuotaBench() {}

  public static void main(String[] args) throws Exception {
    System.out.printf(Locale.ROOT, "%-50s %8s %8s %8s %8s %8s %8s%n", "scenario", "p50 us", "p90 us", "p99 us",
        "p99.9 us", "scripts", "commands");
    try (RedisServerProcess redis = RedisServerProcess.start()) {
      RedisClient statsClient = RedisClient.create(redis.uri());
      stats = statsClient.connect().sync();
      RedisStoreConfig config = RedisStoreConfig.defaults().withUri(redis.uri())
          .withFailure(FailureMode.CLOSED, Duration.ofSeconds(5));
      try (RedisQuotaStore store = new RedisQuotaStore(config, InstantSource.system(), new SimpleMeterRegistry())) {
        QuotaLimits requestsOnly = new QuotaLimits(MINUTE, HUGE, 0, 0);
        QuotaLimits allThree = new QuotaLimits(MINUTE, HUGE, HUGE, 100_000);
        report("llmproxy Lua, requests only, 1 caller", 1, () -> check(store, "lua-r", requestsOnly));
        report("llmproxy Lua, requests+tokens+slot, 1 caller", 1, () -> check(store, "lua-3", allThree));
        report("llmproxy Lua, requests+tokens+slot, 16 in flight", 16, () -> check(store, "lua-16", allThree));
      }
      RedisClient client = RedisClient.create(redis.uri());
      try {
        LettuceBasedProxyManager<byte[]> buckets = Bucket4jLettuce.casBasedBuilder(client)
            .expirationAfterWrite(ExpirationAfterWriteStrategy.basedOnTimeForRefillingBucketUpToMax(MINUTE))
            .build();
        BucketConfiguration perMinute = BucketConfiguration.builder()
            .addLimit(limit -> limit.capacity(HUGE).refillGreedy(HUGE, MINUTE)).build();
        AsyncBucketProxy one = buckets.asAsync().builder()
            .build("b4j-1".getBytes(StandardCharsets.UTF_8), () -> CompletableFuture.completedFuture(perMinute));
        AsyncBucketProxy hot = buckets.asAsync().builder()
            .build("b4j-16".getBytes(StandardCharsets.UTF_8), () -> CompletableFuture.completedFuture(perMinute));
        report("Bucket4j Lettuce CAS, requests only, 1 caller", 1, () -> consume(one));
        report("Bucket4j Lettuce CAS, requests only, 16 in flight", 16, () -> consume(hot));
      } finally {
        client.shutdown();
        statsClient.shutdown();
      }
    }
  }

  private static RedisCommands<String, String> stats;

  /**
   * {scripts run, commands executed} so far, from {@code INFO commandstats}; commands include those
   * that scripts run, and exclude the INFO calls themselves.
   */
  private static long[] executed() {
    long scripts = 0;
    long commands = 0;
    for (String line : stats.info("commandstats").split("\r?\n")) {
      int at = line.indexOf("calls=");
      if (line.startsWith("cmdstat_") && !line.startsWith("cmdstat_info:") && at >= 0) {
        int end = line.indexOf(',', at);
        long calls = Long.parseLong(line.substring(at + 6, end < 0 ? line.length() : end));
        commands += calls;
        if (line.startsWith("cmdstat_eval")) {
          scripts += calls;
        }
      }
    }
    return new long[] {scripts, commands};
  }

  private static CompletableFuture<Boolean> check(RedisQuotaStore store, String subject, QuotaLimits limits) {
    return store.acquire(subject, limits, 100).toCompletableFuture().thenApply(d -> {
      if (d.isAdmitted()) {
        store.release(d.permit(), 90, false);
      }
      return d.outcome() == QuotaDecision.Outcome.ADMITTED;
    });
  }

  private static CompletableFuture<Boolean> consume(AsyncBucketProxy bucket) {
    return bucket.tryConsume(1);
  }

  /** Runs the workload with {@code inFlight} checks outstanding at a time and prints the percentiles. */
  private static void report(String name, int inFlight, Supplier<CompletableFuture<Boolean>> check)
      throws Exception {
    run(inFlight, WARMUP, check);
    Thread.sleep(200); // let fire-and-forget releases land before counting
    long[] before = executed();
    long[] micros = run(inFlight, MEASURED, check);
    Thread.sleep(200);
    long[] after = executed();
    Arrays.sort(micros);
    System.out.printf(Locale.ROOT, "%-50s %8.0f %8.0f %8.0f %8.0f %8.2f %8.2f%n", name, pct(micros, 50),
        pct(micros, 90), pct(micros, 99), pct(micros, 99.9), (after[0] - before[0]) / (double) MEASURED,
        (after[1] - before[1]) / (double) MEASURED);
  }

  private static long[] run(int inFlight, int count, Supplier<CompletableFuture<Boolean>> check) throws Exception {
    long[] nanos = new long[count];
    Semaphore slots = new Semaphore(inFlight);
    AtomicInteger refused = new AtomicInteger();
    CompletableFuture<?>[] all = new CompletableFuture<?>[count];
    for (int i = 0; i < count; i++) {
      slots.acquire();
      int index = i;
      long start = System.nanoTime();
      all[i] = check.get().whenComplete((admitted, error) -> {
        nanos[index] = System.nanoTime() - start;
        if (error != null || !admitted) {
          refused.incrementAndGet();
        }
        slots.release();
      });
    }
    CompletableFuture.allOf(all).get(120, TimeUnit.SECONDS);
    if (refused.get() > 0) {
      throw new IllegalStateException(refused.get() + " checks were refused or failed; the workload is not comparable");
    }
    return Arrays.stream(nanos).map(n -> n / 1000).toArray();
  }

  private static double pct(long[] sorted, double p) {
    return sorted[Math.min(sorted.length - 1, (int) Math.ceil(p / 100 * sorted.length) - 1)];
  }
}
