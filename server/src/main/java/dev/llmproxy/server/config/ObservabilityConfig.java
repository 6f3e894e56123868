package dev.llmproxy.server.config;

import java.util.List;

/**
 * What the proxy tells operators about itself: Prometheus metrics over HTTP, one access-log line
 * per call, and grpc-java's channelz service for live inspection of channels and sockets. All off
 * unless configured, so a proxy opens no port and writes no line nobody asked for.
 *
 * @param metrics the Prometheus scrape endpoint
 * @param accessLog one JSON line per call on standard output (never prompts, completions or keys)
 * @param channelz serve {@code grpc.channelz.v1.Channelz} on the proxy's own port
 * @param tracing OpenTelemetry traces
 * @param log the format and level of operational log lines
 */
public record ObservabilityConfig(Metrics metrics, boolean accessLog, boolean channelz, Tracing tracing, Log log) {
  public static final String DEFAULT_METRICS_HOST = "127.0.0.1";
  public static final int DEFAULT_METRICS_PORT = 9464;

  /**
   * The Prometheus endpoint, {@code http://host:port/metrics}.
   *
   * @param port 0 picks a free port
   */
  public record Metrics(boolean enabled, String host, int port) {
    public static Metrics disabled() {
      return new Metrics(false, DEFAULT_METRICS_HOST, DEFAULT_METRICS_PORT);
    }

    static Metrics from(ConfigNode node) {
      boolean enabled = node.bool("enabled", true);
      String host = node.string("host", DEFAULT_METRICS_HOST);
      if (host.isBlank()) {
        throw ConfigException.invalid(node.pathOf("host"), host, "a host name or address to listen on");
      }
      int port = node.integer("port", DEFAULT_METRICS_PORT, 0, 65535);
      node.rejectUnknownKeys();
      return new Metrics(enabled, host, port);
    }
  }

  /**
   * OpenTelemetry traces, exported over OTLP. The SDK is configured the standard way: the
   * {@code OTEL_*} environment variables (endpoint, headers, protocol, sampler, resource) override
   * what is set here.
   *
   * @param sampleRatio the share of new traces recorded (parent-based: a sampled client's call is
   *     always recorded)
   * @param endpoint the OTLP endpoint, or null for {@code OTEL_EXPORTER_OTLP_ENDPOINT} / the default
   */
  public record Tracing(boolean enabled, double sampleRatio, String serviceName, String endpoint) {
    public static Tracing disabled() {
      return new Tracing(false, 1.0, "llmproxy", null);
    }

    static Tracing from(ConfigNode node) {
      boolean enabled = node.bool("enabled", true);
      double ratio = node.number("sample_ratio", 1.0, 0.0, 1.0);
      String serviceName = node.string("service_name", "llmproxy");
      String endpoint = node.has("endpoint") ? node.requiredString("endpoint") : null;
      if (endpoint != null && !endpoint.startsWith("http://") && !endpoint.startsWith("https://")) {
        throw ConfigException.invalid(node.pathOf("endpoint"), endpoint, "an http:// or https:// URL");
      }
      node.rejectUnknownKeys();
      return new Tracing(enabled, ratio, serviceName, endpoint);
    }

    public Tracing withEnabled(boolean on) {
      return new Tracing(on, sampleRatio, serviceName, endpoint);
    }

    public Tracing withEndpoint(String newEndpoint) {
      return new Tracing(enabled, sampleRatio, serviceName, newEndpoint);
    }
  }

  /** Operational log lines: {@code plain} text or {@code json}, one line per event. */
  public record Log(String level, String format) {
    public static final List<String> LEVELS = List.of("error", "warn", "info", "debug");
    public static final List<String> FORMATS = List.of("plain", "json");

    public static Log defaults() {
      return new Log("info", "plain");
    }

    static Log from(ConfigNode node) {
      String level = node.string("level", "info");
      if (!LEVELS.contains(level)) {
        throw ConfigException.invalid(node.pathOf("level"), level, "one of " + String.join(", ", LEVELS));
      }
      String format = node.string("format", "plain");
      if (!FORMATS.contains(format)) {
        throw ConfigException.invalid(node.pathOf("format"), format, "one of " + String.join(", ", FORMATS));
      }
      node.rejectUnknownKeys();
      return new Log(level, format);
    }
  }

  public ObservabilityConfig(Metrics metrics, boolean accessLog, boolean channelz) {
    this(metrics, accessLog, channelz, Tracing.disabled(), Log.defaults());
  }

  public static ObservabilityConfig defaults() {
    return new ObservabilityConfig(Metrics.disabled(), false, false);
  }

  public ObservabilityConfig withMetrics(Metrics newMetrics) {
    return new ObservabilityConfig(newMetrics, accessLog, channelz, tracing, log);
  }

  public ObservabilityConfig withTracing(Tracing newTracing) {
    return new ObservabilityConfig(metrics, accessLog, channelz, newTracing, log);
  }

  public ObservabilityConfig withAccessLog(boolean on) {
    return new ObservabilityConfig(metrics, on, channelz, tracing, log);
  }

  public ObservabilityConfig withLog(Log newLog) {
    return new ObservabilityConfig(metrics, accessLog, channelz, tracing, newLog);
  }

  /**
   * The settings of {@code next} that a running proxy can take on a reload (the access log, the
   * operational log, tracing) over this config's others: the metrics endpoint and channelz are
   * bound to listeners.
   */
  public ObservabilityConfig reloadedAs(ObservabilityConfig next) {
    return new ObservabilityConfig(metrics, next.accessLog, channelz, next.tracing, next.log);
  }

  /** What {@code next} changes that {@link #reloadedAs} keeps as running: for the reload's result. */
  public List<String> restartOnlyChanges(ObservabilityConfig next) {
    List<String> changes = new java.util.ArrayList<>();
    if (!metrics.equals(next.metrics)) {
      changes.add("observability.metrics (the endpoint)");
    }
    if (channelz != next.channelz) {
      changes.add("observability.channelz");
    }
    return List.copyOf(changes);
  }

  static ObservabilityConfig from(ConfigNode node) {
    Metrics metrics = node.has("metrics") ? Metrics.from(node.child("metrics")) : Metrics.disabled();
    boolean accessLog = node.bool("access_log", false);
    boolean channelz = node.bool("channelz", false);
    Tracing tracing = node.has("tracing") ? Tracing.from(node.child("tracing")) : Tracing.disabled();
    Log log = node.has("log") ? Log.from(node.child("log")) : Log.defaults();
    node.rejectUnknownKeys();
    return new ObservabilityConfig(metrics, accessLog, channelz, tracing, log);
  }
}
