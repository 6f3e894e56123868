package dev.llmproxy.server.cache;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.EnumMap;
import java.util.Map;
import java.util.Objects;
import java.util.function.ToDoubleFunction;

/**
 * The cache's meters on the injected registry: calls by outcome ({@code llmproxy.cache.requests},
 * tag {@code result}: hit, miss, coalesced, bypass), evictions by cause
 * ({@code llmproxy.cache.evictions}, tag {@code cause}: size, expired), answers offered for storing
 * ({@code llmproxy.cache.stores}, tag {@code result}: stored, too_large, incomplete), and gauges for
 * the bytes and entries held and the upstream calls in flight.
 */
final class CacheMetrics {
  private final MeterRegistry registry;
  private final Map<CacheOutcome, Counter> requests = new EnumMap<>(CacheOutcome.class);
  private final Counter evictedForSize;
  private final Counter expired;
  private final Counter stored;
  private final Counter tooLarge;
  private final Counter incomplete;

  CacheMetrics(MeterRegistry registry) {
    this.registry = Objects.requireNonNull(registry, "registry");
    for (CacheOutcome outcome : CacheOutcome.values()) {
      requests.put(outcome, Counter.builder("llmproxy.cache.requests")
          .description("Calls by how the response cache took part")
          .tag("result", outcome.headerValue()).register(registry));
    }
    evictedForSize = eviction("size");
    expired = eviction("expired");
    stored = store("stored");
    tooLarge = store("too_large");
    incomplete = store("incomplete");
  }

  void outcome(CacheOutcome outcome) {
    requests.get(outcome).increment();
  }

  void evictedForSize() {
    evictedForSize.increment();
  }

  void expired() {
    expired.increment();
  }

  void stored() {
    stored.increment();
  }

  void tooLarge() {
    tooLarge.increment();
  }

  void incomplete() {
    incomplete.increment();
  }

  <T> void gauge(String name, String description, T source, ToDoubleFunction<T> value) {
    io.micrometer.core.instrument.Gauge.builder(name, source, value).description(description).register(registry);
  }

  private Counter eviction(String cause) {
    return Counter.builder("llmproxy.cache.evictions").description("Entries the cache dropped")
        .tag("cause", cause).register(registry);
  }

  private Counter store(String result) {
    return Counter.builder("llmproxy.cache.stores").description("Finished upstream answers offered to the cache")
        .tag("result", result).register(registry);
  }
}
