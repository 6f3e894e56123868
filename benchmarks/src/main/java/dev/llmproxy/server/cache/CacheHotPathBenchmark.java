package dev.llmproxy.server.cache;

import com.github.benmanes.caffeine.cache.Ticker;
import dev.llmproxy.v1.CompletionChunk;
import dev.llmproxy.v1.CompletionRequest;
import dev.llmproxy.v1.FinishReason;
import dev.llmproxy.v1.Message;
import dev.llmproxy.v1.Usage;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The cache's per-call work before any upstream is touched: building the {@link CacheKey} (a
 * SHA-256 over the canonical request) and looking it up in {@link CaffeineResponseCache}.
 * Workload: a chat request of {@code messages} messages of about 40 words each, temperature 0,
 * seed and two stop strings; the cache holds 10,000 answers of 64 chunks and the lookup hits
 * ({@code hit}) or misses ({@code miss}) one of them.
 *
 * <pre>java -jar benchmarks/target/llmproxy-bench.jar jmh CacheHotPathBenchmark -prof gc</pre>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class CacheHotPathBenchmark {
  private static final int ENTRIES = 10_000;

  @Param({"1", "8"})
  public int messages;

  private CompletionRequest request;
  private CaffeineResponseCache cache;
  private CacheKey present;
  private CacheKey absent;

  @Setup(Level.Trial)
  public void setUp() {
    cache = new CaffeineResponseCache(1L << 30, Duration.ofHours(1), Ticker.systemTicker(), Runnable::run,
        new CacheMetrics(new SimpleMeterRegistry()));
    List<CompletionChunk> chunks = new ArrayList<>();
    for (int i = 0; i < 64; i++) {
      chunks.add(CompletionChunk.newBuilder().setId("cmpl-1").setIndex(i).setText(" token" + i).build());
    }
    chunks.set(63, chunks.get(63).toBuilder().setFinishReason(FinishReason.FINISH_REASON_LENGTH)
        .setUsage(Usage.newBuilder().setPromptTokens(40).setCompletionTokens(64).setTotalTokens(104)).build());
    CachedAnswer answer = new CachedAnswer("model", chunks);
    for (int i = 0; i < ENTRIES; i++) {
      cache.put(CacheKey.of("shared", "default", request(i)), answer);
    }
    request = request(ENTRIES / 2);
    present = CacheKey.of("shared", "default", request);
    absent = CacheKey.of("shared", "default", request(ENTRIES + 1));
  }

  private CompletionRequest request(int variant) {
    CompletionRequest.Builder b = CompletionRequest.newBuilder().setModel("llama-3-70b").setMaxTokens(64)
        .setTemperature(0).setSeed(42).addStop("\n\n").addStop("END");
    for (int m = 0; m < messages; m++) {
      b.addMessages(Message.newBuilder().setRole(m % 2 == 0 ? "user" : "assistant")
          .setContent("Question " + variant + " about proxies: " + "why does a gateway need flow control ".repeat(5)));
    }
    return b.build();
  }

  @Benchmark
  public CacheKey key() {
    return CacheKey.of("shared", "default", request);
  }

  @Benchmark
  public CachedAnswer hit() {
    return cache.get(present);
  }

  @Benchmark
  public CachedAnswer miss() {
    return cache.get(absent);
  }

  @Benchmark
  public CachedAnswer keyAndLookup() {
    return cache.get(CacheKey.of("shared", "default", request));
  }
}
