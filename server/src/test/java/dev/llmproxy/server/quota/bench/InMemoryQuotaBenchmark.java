package dev.llmproxy.server.quota.bench;

import dev.llmproxy.server.quota.QuotaDecision;
import dev.llmproxy.server.quota.QuotaLimits;
import dev.llmproxy.server.quota.memory.InMemoryQuotaStore;
import java.time.Duration;
import java.time.InstantSource;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The per-call cost of the in-memory quota check: one {@code acquire} (a request, a token
 * reservation and a concurrency slot, all three limits active) and the {@code release} that
 * settles it, against the system clock, on one key. {@code oneKeyTwoThreads} has both cores fight
 * over the same key's lock; {@code refused} is a call turned away by an empty request bucket.
 *
 * <p>Run (after {@code ./mvnw -q install -DskipTests}):
 * <pre>
 * ./mvnw -q -pl server test-compile dependency:build-classpath -Dmdep.outputFile=target/test.cp -Dmdep.includeScope=test
 * java -cp server/target/test-classes:server/target/classes:$(cat server/target/test.cp) \
 *     org.openjdk.jmh.Main InMemoryQuotaBenchmark
 * </pre>
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
@State(Scope.Benchmark)
public class InMemoryQuotaBenchmark {
  /**
   * Limits that one run never exhausts (10^10 requests and tokens a minute, 1,000 calls at once;
   * each call reserves 30 tokens and uses 28), so every measured call is admitted.
   */
  private static final QuotaLimits ROOMY = new QuotaLimits(Duration.ofMinutes(1), 10_000_000_000L,
      10_000_000_000L, 1000);
  private static final QuotaLimits EXHAUSTED = new QuotaLimits(Duration.ofHours(24), 1, 0, 0);

  private InMemoryQuotaStore store;

  @Setup
  public void setUp() {
    store = new InMemoryQuotaStore(InstantSource.system());
    store.acquire("empty", EXHAUSTED, 1);
  }

  @Benchmark
  public QuotaDecision admitAndSettle() {
    QuotaDecision d = store.acquire("team-a", ROOMY, 30).toCompletableFuture().join();
    store.release(d.permit(), 28, false);
    return d;
  }

  @Benchmark
  @Threads(2)
  public QuotaDecision oneKeyTwoThreads() {
    QuotaDecision d = store.acquire("team-a", ROOMY, 30).toCompletableFuture().join();
    store.release(d.permit(), 28, false);
    return d;
  }

  @Benchmark
  public QuotaDecision refused() {
    return store.acquire("empty", EXHAUSTED, 1).toCompletableFuture().join();
  }
}
