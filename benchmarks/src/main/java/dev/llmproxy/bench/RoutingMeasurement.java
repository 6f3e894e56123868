package dev.llmproxy.bench;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;

/** What one routing run measured, after warm-up: the calls' outcomes and each engine's load and cache. */
final class RoutingMeasurement {
  // {1 if OK, TTFT or -1, index of the upstream that answered or -1}
  final ConcurrentLinkedQueue<long[]> results = new ConcurrentLinkedQueue<>();
  final List<String> upstreams;
  final AtomicLong[] loadSums;
  final AtomicLong samples = new AtomicLong();
  final long[] promptTokens;
  final long[] cachedTokens;

  RoutingMeasurement(List<String> upstreams) {
    this.upstreams = upstreams;
    int sims = upstreams.size();
    promptTokens = new long[sims];
    cachedTokens = new long[sims];
    loadSums = new AtomicLong[sims];
    Arrays.setAll(loadSums, i -> new AtomicLong());
  }

  Map<String, Object> toMap(long sloNanos, double seconds) {
    List<Long> ttfts = new ArrayList<>();
    List<List<Long>> byUpstream = new ArrayList<>();
    upstreams.forEach(u -> byUpstream.add(new ArrayList<>()));
    long errors = 0;
    long good = 0;
    for (long[] r : results) {
      if (r[0] == 1 && r[1] >= 0) {
        ttfts.add(r[1]);
        if (r[2] >= 0) {
          byUpstream.get((int) r[2]).add(r[1]);
        }
        if (r[1] <= sloNanos) {
          good++;
        }
      } else {
        errors++;
      }
    }
    long[] sorted = ttfts.stream().mapToLong(Long::longValue).sorted().toArray();
    double[] avgLoad = new double[loadSums.length];
    double mean = 0;
    double max = 0;
    for (int i = 0; i < loadSums.length; i++) {
      avgLoad[i] = samples.get() == 0 ? 0 : loadSums[i].get() / (double) samples.get();
      mean += avgLoad[i] / loadSums.length;
      max = Math.max(max, avgLoad[i]);
    }
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("calls", results.size());
    m.put("errors", errors);
    m.put("ttft_p50_ms", percentileMs(sorted, 0.50));
    m.put("ttft_p90_ms", percentileMs(sorted, 0.90));
    m.put("ttft_p99_ms", percentileMs(sorted, 0.99));
    m.put("goodput_per_s", RoutingScenario.round(good / seconds));
    m.put("prefix_hit_rate", hitRate(Arrays.stream(cachedTokens).sum(), Arrays.stream(promptTokens).sum()));
    m.put("load_max_over_mean", mean == 0 ? 0 : RoutingScenario.round(max / mean));
    List<Double> loads = new ArrayList<>();
    for (double l : avgLoad) {
      loads.add(RoutingScenario.round(l));
    }
    m.put("mean_in_flight_per_upstream", loads);
    // Which share of the calls each upstream served, and its own TTFT tail: where a p99 comes from.
    List<Double> shares = new ArrayList<>();
    List<Double> p99s = new ArrayList<>();
    List<Double> hits = new ArrayList<>();
    for (int i = 0; i < byUpstream.size(); i++) {
      List<Long> served = byUpstream.get(i);
      shares.add(ttfts.isEmpty() ? 0 : Math.round(served.size() * 10_000.0 / ttfts.size()) / 10_000.0);
      p99s.add(percentileMs(served.stream().mapToLong(Long::longValue).sorted().toArray(), 0.99));
      hits.add(hitRate(cachedTokens[i], promptTokens[i]));
    }
    m.put("call_share_per_upstream", shares);
    m.put("ttft_p99_ms_per_upstream", p99s);
    m.put("prefix_hit_rate_per_upstream", hits);
    return m;
  }

  private static double hitRate(long cached, long prompt) {
    return prompt == 0 ? 0 : RoutingScenario.round(cached / (double) prompt);
  }

  private static double percentileMs(long[] sorted, double p) {
    if (sorted.length == 0) {
      return Double.NaN;
    }
    int index = (int) Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1);
    return RoutingScenario.round(sorted[Math.max(0, index)] / 1e6);
  }
}
