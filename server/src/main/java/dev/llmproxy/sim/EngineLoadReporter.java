package dev.llmproxy.sim;

import static java.util.Objects.requireNonNull;

import dev.llmproxy.orca.LoadReport;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The simulated engine's load as an ORCA report, read from its admission queue and prefix cache at
 * the moment of asking: named metrics in vLLM's names ({@code num_requests_waiting},
 * {@code num_requests_running}, {@code kv_cache_usage_perc}), and as {@code application_utilization}
 * the share of batch slots in use (0 when the batch is unlimited). Both protocols send what this
 * reports: gRPC in each call's trailers, OpenAI in the {@code endpoint-load-metrics} header.
 */
public final class EngineLoadReporter {
  private final AdmissionQueue admission;
  private final PrefixKvCache kvCache;
  private final Supplier<SimulatedBackendConfig> config;

  public EngineLoadReporter(AdmissionQueue admission, PrefixKvCache kvCache, Supplier<SimulatedBackendConfig> config) {
    this.admission = requireNonNull(admission, "admission");
    this.kvCache = requireNonNull(kvCache, "kvCache");
    this.config = requireNonNull(config, "config");
  }

  /** The load now. */
  public LoadReport report() {
    SimulatedBackendConfig current = config.get();
    int running = admission.running();
    int waiting = admission.queued();
    int blocks = current.engine().kvCacheBlocks();
    double kvUsage = blocks == 0 ? 0 : Math.min(1, kvCache.size() / (double) blocks);
    double batchUse = current.maxConcurrency() == 0 ? 0 : Math.min(1, running / (double) current.maxConcurrency());
    return new LoadReport(0, 0, batchUse, Map.of(), Map.of(
        LoadReport.RUNNING, (double) running,
        LoadReport.WAITING, (double) waiting,
        LoadReport.KV_CACHE_USAGE, kvUsage));
  }
}
