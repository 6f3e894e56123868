package dev.llmproxy.server.quota;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Counts quota decisions per key id ({@code anonymous} for callers without a key): {@code
 * llmproxy.quota.decisions} tagged {@code key}, {@code result} (admitted, exceeded, denied,
 * unavailable) and {@code limit}. Key ids come from the config, so the tags stay bounded.
 */
final class QuotaMetrics {
  private final MeterRegistry meters;
  private final Map<String, Counter> counters = new ConcurrentHashMap<>();

  QuotaMetrics(MeterRegistry meters) {
    this.meters = meters;
  }

  void admitted(String key) {
    counter(key, "admitted", "none").increment();
  }

  void exceeded(String key, Set<QuotaLimit> limits) {
    for (QuotaLimit limit : limits) {
      counter(key, "exceeded", limit.label()).increment();
    }
  }

  void denied(String key) {
    counter(key, "denied", "model").increment();
  }

  void unavailable(String key) {
    counter(key, "unavailable", "none").increment();
  }

  private Counter counter(String key, String result, String limit) {
    return counters.computeIfAbsent(key + '\0' + result + '\0' + limit, k -> Counter
        .builder("llmproxy.quota.decisions")
        .description("Quota decisions on calls, by key id, result and the limit that decided")
        .tag("key", key).tag("result", result).tag("limit", limit)
        .register(meters));
  }
}
