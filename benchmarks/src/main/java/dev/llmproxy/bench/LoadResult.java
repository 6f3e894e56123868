package dev.llmproxy.bench;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;
import org.HdrHistogram.Histogram;

/**
 * What one load run measured. Latencies in milliseconds; for streams, {@code latency} is the whole
 * stream, {@code ttft} the time to its first chunk and {@code itl} the gaps between chunks.
 */
record LoadResult(LoadSpec spec, double seconds, long ok, Map<String, Long> errors, long tokens,
    Histogram latencyMicros, Histogram ttftMicros, Histogram itlMicros, long maxInFlight) {

  double throughput() {
    return seconds > 0 ? ok / seconds : 0;
  }

  double tokensPerSecond() {
    return seconds > 0 ? tokens / seconds : 0;
  }

  long errorCount() {
    return errors.values().stream().mapToLong(Long::longValue).sum();
  }

  double latencyMs(double percentile) {
    return percentileMs(latencyMicros, percentile);
  }

  static double percentileMs(Histogram h, double percentile) {
    return h.getTotalCount() == 0 ? Double.NaN : h.getValueAtPercentile(percentile) / 1000.0;
  }

  static Map<String, Object> summary(Histogram h) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("count", h.getTotalCount());
    m.put("p50_ms", percentileMs(h, 50));
    m.put("p90_ms", percentileMs(h, 90));
    m.put("p99_ms", percentileMs(h, 99));
    m.put("p999_ms", percentileMs(h, 99.9));
    m.put("max_ms", h.getTotalCount() == 0 ? Double.NaN : h.getMaxValue() / 1000.0);
    m.put("mean_ms", h.getTotalCount() == 0 ? Double.NaN : h.getMean() / 1000.0);
    return m;
  }

  Map<String, Object> toMap() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("rpc", spec.rpc());
    m.put("mode", spec.mode());
    m.put(spec.openLoop() ? "rate_per_s" : "concurrency", spec.load());
    m.put("targets", spec.targets());
    m.put("max_tokens", spec.maxTokens());
    m.put("connections_per_target", spec.connections());
    m.put("measured_s", seconds);
    m.put("max_in_flight", maxInFlight);
    m.put("ok", ok);
    m.put("errors_by_status", new TreeMap<>(errors));
    m.put("throughput_per_s", throughput());
    if (spec.stream()) {
      m.put("tokens", tokens);
      m.put("tokens_per_s", tokensPerSecond());
    }
    m.put("latency", summary(latencyMicros));
    if (spec.stream()) {
      m.put("ttft", summary(ttftMicros));
      m.put("itl", summary(itlMicros));
    }
    return m;
  }
}
