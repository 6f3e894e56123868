package dev.llmproxy.server.observability.tracing;

import dev.llmproxy.server.config.ObservabilityConfig;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;

/**
 * Whether the standard OpenTelemetry settings turn tracing on or off, read once at the wiring
 * point: a deployment that sets {@code OTEL_TRACES_EXPORTER} (other than {@code none}),
 * {@code OTEL_EXPORTER_OTLP_ENDPOINT} or {@code OTEL_EXPORTER_OTLP_TRACES_ENDPOINT} gets traces
 * without an {@code observability.tracing} section; {@code OTEL_SDK_DISABLED=true} or
 * {@code OTEL_TRACES_EXPORTER=none} turns them off even with one. Each setting may also be a system
 * property ({@code -Dotel.sdk.disabled=true}), which wins over the variable, as in the SDK.
 */
public final class TracingEnvironment {
  private final Map<String, String> settings;

  private TracingEnvironment(Map<String, String> settings) {
    this.settings = Map.copyOf(settings);
  }

  /** The process's {@code OTEL_*} variables and {@code otel.*} system properties. */
  public static TracingEnvironment of(Map<String, String> environment, Properties systemProperties) {
    Map<String, String> settings = new HashMap<>();
    environment.forEach((name, value) -> {
      if (name.startsWith("OTEL_")) {
        settings.put(name, value);
      }
    });
    systemProperties.stringPropertyNames().stream().filter(name -> name.startsWith("otel."))
        .forEach(name -> settings.put(name.toUpperCase(Locale.ROOT).replace('.', '_').replace('-', '_'),
            systemProperties.getProperty(name)));
    return new TracingEnvironment(settings);
  }

  /** No {@code OTEL_*} settings: the config alone decides. */
  public static TracingEnvironment none() {
    return new TracingEnvironment(Map.of());
  }

  private String get(String name) {
    String value = settings.get(name);
    return value == null || value.isBlank() ? null : value.trim();
  }

  /** The config's tracing with the environment's on/off applied (and its OTLP endpoint as the default). */
  public ObservabilityConfig.Tracing apply(ObservabilityConfig.Tracing configured) {
    String exporter = get("OTEL_TRACES_EXPORTER");
    if ("true".equalsIgnoreCase(get("OTEL_SDK_DISABLED")) || "none".equalsIgnoreCase(exporter)) {
      return configured.withEnabled(false);
    }
    String endpoint = get("OTEL_EXPORTER_OTLP_ENDPOINT");
    boolean asked = exporter != null || endpoint != null || get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != null;
    if (!asked) {
      return configured;
    }
    ObservabilityConfig.Tracing on = configured.withEnabled(true);
    // The SDK reads the variable itself; naming it here too makes the config say where spans go.
    return on.endpoint() == null && endpoint != null ? on.withEndpoint(endpoint) : on;
  }

  /** {@code config} with {@link #apply} applied to its tracing. */
  public ObservabilityConfig apply(ObservabilityConfig config) {
    ObservabilityConfig.Tracing tracing = apply(config.tracing());
    return tracing.equals(config.tracing()) ? config : config.withTracing(tracing);
  }
}
