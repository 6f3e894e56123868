package dev.llmproxy.server.config;

/**
 * What the proxy tells operators about itself: Prometheus metrics over HTTP, one access-log line
 * per call, and grpc-java's channelz service for live inspection of channels and sockets. All off
 * unless configured, so a proxy opens no port and writes no line nobody asked for.
 *
 * @param metrics the Prometheus scrape endpoint
 * @param accessLog one JSON line per call on standard output (never prompts, completions or keys)
 * @param channelz serve {@code grpc.channelz.v1.Channelz} on the proxy's own port
 */
public record ObservabilityConfig(Metrics metrics, boolean accessLog, boolean channelz) {
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

  public static ObservabilityConfig defaults() {
    return new ObservabilityConfig(Metrics.disabled(), false, false);
  }

  public ObservabilityConfig withMetrics(Metrics newMetrics) {
    return new ObservabilityConfig(newMetrics, accessLog, channelz);
  }

  static ObservabilityConfig from(ConfigNode node) {
    Metrics metrics = node.has("metrics") ? Metrics.from(node.child("metrics")) : Metrics.disabled();
    boolean accessLog = node.bool("access_log", false);
    boolean channelz = node.bool("channelz", false);
    node.rejectUnknownKeys();
    return new ObservabilityConfig(metrics, accessLog, channelz);
  }
}
