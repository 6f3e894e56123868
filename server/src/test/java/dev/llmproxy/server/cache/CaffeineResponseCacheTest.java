package dev.llmproxy.server.cache;

import static org.assertj.core.api.Assertions.assertThat;

import com.github.benmanes.caffeine.cache.Ticker;
import dev.llmproxy.v1.CompletionChunk;
import dev.llmproxy.v1.CompletionRequest;
import dev.llmproxy.v1.FinishReason;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class CaffeineResponseCacheTest {
  private final SimpleMeterRegistry meters = new SimpleMeterRegistry();
  private final AtomicLong nanos = new AtomicLong();
  private final Ticker ticker = nanos::get;

  private CaffeineResponseCache cache(long maxBytes, Duration ttl) {
    return new CaffeineResponseCache(maxBytes, ttl, ticker, Runnable::run, new CacheMetrics(meters));
  }

  private static CacheKey key(int i) {
    return CacheKey.of("shared", "r", CompletionRequest.newBuilder().setPrompt("p" + i).setSeed(i).build());
  }

  /** An answer of {@code tokens} chunks of 10 characters each. */
  private static CachedAnswer answer(int tokens) {
    List<CompletionChunk> chunks = new ArrayList<>();
    for (int i = 0; i < tokens; i++) {
      CompletionChunk.Builder c = CompletionChunk.newBuilder().setId("id").setIndex(i).setText("0123456789");
      if (i == tokens - 1) {
        c.setFinishReason(FinishReason.FINISH_REASON_STOP);
      }
      chunks.add(c.build());
    }
    return new CachedAnswer("m", chunks);
  }

  private double counted(String cause) {
    return meters.get("llmproxy.cache.evictions").tag("cause", cause).counter().count();
  }

  @Test
  void anEntryWeighsItsSerializedSizePlusOverhead() {
    CachedAnswer a = answer(3);
    int chunkBytes = a.chunks().stream().mapToInt(CompletionChunk::getSerializedSize).sum();
    assertThat(a.weight()).isEqualTo(CachedAnswer.ENTRY_OVERHEAD + 1 + chunkBytes);
  }

  @Test
  void evictsEntriesToStayWithinMaxBytes() {
    int weight = answer(20).weight();
    CaffeineResponseCache cache = cache(weight * 5L, Duration.ofMinutes(10));
    for (int i = 0; i < 50; i++) {
      cache.put(key(i), answer(20));
    }
    cache.cleanUp();

    assertThat(cache.weightedBytes()).isLessThanOrEqualTo(weight * 5L);
    assertThat(cache.entryCount()).isEqualTo(5);
    assertThat(counted("size")).isEqualTo(45);
    long present = java.util.stream.IntStream.range(0, 50).filter(i -> cache.get(key(i)) != null).count();
    assertThat(present).isEqualTo(5);
  }

  @Test
  void anEntryHeavierThanTheWholeCacheIsNotKept() {
    CaffeineResponseCache cache = cache(answer(2).weight(), Duration.ofMinutes(10));
    cache.put(key(1), answer(50));
    cache.cleanUp();
    assertThat(cache.get(key(1))).isNull();
    assertThat(cache.weightedBytes()).isZero();
  }

  @Test
  void entriesExpireTheirTimeToLiveAfterTheyWereWritten() {
    CaffeineResponseCache cache = cache(1 << 20, Duration.ofSeconds(30));
    cache.put(key(1), answer(2));
    nanos.addAndGet(Duration.ofSeconds(20).toNanos());
    cache.put(key(2), answer(2));
    assertThat(cache.get(key(1))).isNotNull(); // a read does not extend the life of an entry

    nanos.addAndGet(Duration.ofSeconds(10).toNanos());
    assertThat(cache.get(key(1))).isNull();
    assertThat(cache.get(key(2))).isNotNull();

    nanos.addAndGet(Duration.ofSeconds(20).toNanos());
    assertThat(cache.get(key(2))).isNull();
    cache.cleanUp();
    assertThat(cache.entryCount()).isZero();
    assertThat(counted("expired")).isEqualTo(2);
  }

  @Test
  void aPutReplacesTheEntryAndRestartsItsTimeToLive() {
    CaffeineResponseCache cache = cache(1 << 20, Duration.ofSeconds(30));
    cache.put(key(1), answer(2));
    nanos.addAndGet(Duration.ofSeconds(25).toNanos());
    cache.put(key(1), answer(3));
    nanos.addAndGet(Duration.ofSeconds(25).toNanos());
    assertThat(cache.get(key(1)).chunks()).hasSize(3);
  }
}
