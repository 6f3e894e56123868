package dev.llmproxy.orca;

import static java.util.Objects.requireNonNull;

import java.util.Map;
import java.util.OptionalDouble;

/**
 * One ORCA load report (the fields of {@code xds.data.orca.v3.OrcaLoadReport} that describe load;
 * request costs and rates are not kept). Values are as reported: utilizations are fractions, named
 * metrics whatever the engine defines. Immutable.
 *
 * @param cpuUtilization {@code cpu_utilization}, 0 when not reported
 * @param memUtilization {@code mem_utilization}, 0 when not reported
 * @param applicationUtilization {@code application_utilization}, 0 when not reported
 * @param utilization the {@code utilization} map (fractions per resource)
 * @param namedMetrics the {@code named_metrics} map, e.g. vLLM's {@value #WAITING}
 */
public record LoadReport(double cpuUtilization, double memUtilization, double applicationUtilization,
    Map<String, Double> utilization, Map<String, Double> namedMetrics) {
  /** Requests waiting for a batch slot (vLLM's name in its ORCA header and {@code /metrics}). */
  public static final String WAITING = "num_requests_waiting";
  /** Requests in the running batch. */
  public static final String RUNNING = "num_requests_running";
  /** Fraction of the KV cache in use, 0 to 1. */
  public static final String KV_CACHE_USAGE = "kv_cache_usage_perc";

  public LoadReport {
    utilization = Map.copyOf(requireNonNull(utilization, "utilization"));
    namedMetrics = Map.copyOf(requireNonNull(namedMetrics, "namedMetrics"));
  }

  /** A report of named metrics only, as vLLM sends it. */
  public static LoadReport ofNamedMetrics(Map<String, Double> namedMetrics) {
    return new LoadReport(0, 0, 0, Map.of(), namedMetrics);
  }

  /** A named metric, if reported. */
  public OptionalDouble named(String name) {
    Double value = namedMetrics.get(name);
    return value == null ? OptionalDouble.empty() : OptionalDouble.of(value);
  }

  /**
   * The busiest reported utilization, clamped to [0, 1]: the largest of application, CPU and memory
   * utilization, each {@code utilization} entry and the KV cache use. An engine is as loaded as its
   * scarcest resource.
   */
  public double maxUtilization() {
    double max = Math.max(applicationUtilization, Math.max(cpuUtilization, memUtilization));
    for (double value : utilization.values()) {
      max = Math.max(max, value);
    }
    max = Math.max(max, named(KV_CACHE_USAGE).orElse(0));
    return Double.isNaN(max) ? 0 : Math.min(1, Math.max(0, max));
  }
}
