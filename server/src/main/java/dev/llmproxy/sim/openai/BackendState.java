package dev.llmproxy.sim.openai;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.llmproxy.orca.LoadReportHeader;
import dev.llmproxy.sim.AdmissionQueue;
import dev.llmproxy.sim.EngineLoadReporter;
import dev.llmproxy.sim.PrefixKvCache;
import dev.llmproxy.sim.CallRecorder;
import dev.llmproxy.sim.SimulatedBackendConfig;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * What the connections of one {@link OpenAiSimulatedBackend} share: its current settings and
 * switches, its admission queue, recorder and metrics. Settings are replaced whole; a request reads
 * them once when it arrives.
 */
final class BackendState {
  final AtomicReference<SimulatedBackendConfig> config;
  final AdmissionQueue admission;
  final PrefixKvCache kvCache = new PrefixKvCache();
  final CallRecorder recorder = new CallRecorder();
  final VllmMetrics metrics = new VllmMetrics();
  final EngineLoadReporter load;
  final LoadReportHeader loadHeader = new LoadReportHeader(new ObjectMapper());
  final OpenAiRequestParser parser = new OpenAiRequestParser(new ObjectMapper());
  final JsonFactory json = new JsonFactory();
  final long startedEpochSeconds = System.currentTimeMillis() / 1000;
  private final AtomicLong ids = new AtomicLong();
  private volatile OpenAiSimSettings settings;
  private volatile boolean serving = true;
  private volatile boolean loading;
  private volatile boolean perCallLoadReports = true;

  BackendState(SimulatedBackendConfig config, OpenAiSimSettings settings) {
    this.config = new AtomicReference<>(config);
    this.admission = new AdmissionQueue(config.maxConcurrency(), config.maxQueue());
    this.settings = settings;
    this.load = new EngineLoadReporter(admission, kvCache, this.config::get);
  }

  String name() {
    return config.get().name();
  }

  OpenAiSimSettings settings() {
    return settings;
  }

  void setSettings(OpenAiSimSettings newSettings) {
    settings = newSettings;
  }

  boolean serving() {
    return serving;
  }

  void setServing(boolean value) {
    serving = value;
  }

  boolean loading() {
    return loading;
  }

  void setLoading(boolean value) {
    loading = value;
  }

  boolean perCallLoadReports() {
    return perCallLoadReports;
  }

  void setPerCallLoadReports(boolean value) {
    perCallLoadReports = value;
  }

  /** A fresh number for a completion id. */
  long nextId() {
    return ids.incrementAndGet();
  }

  /** The model name that {@code /v1/models} and {@code /metrics} show. */
  String primaryModel() {
    OpenAiSimSettings current = settings;
    return current.servedModels().isEmpty() ? name() : current.servedModels().get(0);
  }
}
