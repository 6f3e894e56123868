package dev.llmproxy.server.observability.tracing;

import dev.llmproxy.server.config.ConfigException;
import dev.llmproxy.server.config.ObservabilityConfig;
import io.grpc.ClientInterceptor;
import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.propagation.TextMapPropagator;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.common.CompletableResultCode;
import io.opentelemetry.sdk.autoconfigure.AutoConfiguredOpenTelemetrySdk;
import io.opentelemetry.sdk.autoconfigure.spi.ConfigurationException;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The proxy's traces over one SDK: a server span per call ({@link TracingCallObserver}) and a client
 * span per upstream attempt ({@link TracingClientInterceptor}), joined through the W3C
 * {@code traceparent} header that the proxy forwards upstream. Built only when tracing is on, so
 * with tracing off there is no observer, no interceptor and no SDK: nothing runs per call or per
 * token. Config generations lease one through {@link TracingLeases}.
 */
public final class ProxyTracing implements AutoCloseable {
  static final String INSTRUMENTATION = "dev.llmproxy";

  private static final String RATIO_SAMPLER = "parentbased_traceidratio";
  private static final long CLOSE_TIMEOUT_SECONDS = 10; // as OpenTelemetrySdk.close()

  private final Tracer tracer;
  private final TextMapPropagator propagator;
  private final OpenTelemetrySdk owned; // null: the caller's SDK, closed by the caller
  private final ReloadableRatioSampler sampler; // null: the sampler is not the config's to change
  private CompletableResultCode stopping; // guarded by this

  private ProxyTracing(OpenTelemetry openTelemetry, OpenTelemetrySdk owned, ReloadableRatioSampler sampler) {
    this.tracer = openTelemetry.getTracer(INSTRUMENTATION);
    this.propagator = openTelemetry.getPropagators().getTextMapPropagator();
    this.owned = owned;
    this.sampler = sampler;
  }

  /**
   * Tracing over an SDK configured by the OpenTelemetry autoconfiguration: the {@code OTEL_*}
   * environment variables and system properties, with {@code config} as defaults beneath them.
   * Only traces: metrics stay on the Prometheus registry and logs on standard output.
   */
  public static ProxyTracing fromConfig(ObservabilityConfig.Tracing config) {
    Map<String, String> defaults = new HashMap<>();
    defaults.put("otel.service.name", config.serviceName());
    defaults.put("otel.traces.sampler", RATIO_SAMPLER);
    defaults.put("otel.traces.sampler.arg", Double.toString(config.sampleRatio()));
    defaults.put("otel.traces.exporter", "otlp");
    // http/protobuf over the JDK's HttpClient: the one sender bundled (OTLP over gRPC would need OkHttp).
    defaults.put("otel.exporter.otlp.protocol", "http/protobuf");
    defaults.put("otel.metrics.exporter", "none");
    defaults.put("otel.logs.exporter", "none");
    if (config.endpoint() != null) {
      defaults.put("otel.exporter.otlp.endpoint", config.endpoint());
    }
    AtomicReference<ReloadableRatioSampler> reloadable = new AtomicReference<>();
    OpenTelemetrySdk sdk;
    try {
      sdk = AutoConfiguredOpenTelemetrySdk.builder()
          .addPropertiesSupplier(() -> defaults)
          // The config's ratio sampler becomes one a reload can change; a sampler chosen through
          // OTEL_TRACES_SAMPLER(_ARG) stays as the environment says.
          .addSamplerCustomizer((configured, properties) -> {
            if (!RATIO_SAMPLER.equals(properties.getString("otel.traces.sampler"))
                || properties.getDouble("otel.traces.sampler.arg", 1.0) != config.sampleRatio()) {
              return configured;
            }
            reloadable.set(new ReloadableRatioSampler(config.sampleRatio()));
            return reloadable.get();
          })
          .disableShutdownHook() // closed with the proxy, after its calls
          .build()
          .getOpenTelemetrySdk();
    } catch (ConfigurationException e) {
      Throwable cause = e.getCause() != null ? e.getCause() : e;
      throw ConfigException.invalid("observability.tracing", "(with the OTEL_* environment)",
          "settings the OpenTelemetry SDK accepts: " + cause.getMessage()
              + " (OTLP is exported as http/protobuf; grpc is not bundled)");
    }
    return new ProxyTracing(sdk, sdk, reloadable.get());
  }

  /** Tracing over an SDK the caller built and closes (tests: an in-memory exporter). */
  public static ProxyTracing over(OpenTelemetry openTelemetry) {
    return new ProxyTracing(Objects.requireNonNull(openTelemetry, "openTelemetry"), null, null);
  }

  /**
   * Samples new traces at {@code ratio} from now on; false (and no change) when the sampler is not
   * the config's: chosen by {@code OTEL_TRACES_SAMPLER(_ARG)} or by the caller's SDK.
   */
  public boolean setSampleRatio(double ratio) {
    if (sampler == null) {
      return false;
    }
    sampler.setRatio(ratio);
    return true;
  }

  Tracer tracer() {
    return tracer;
  }

  /** Starts and ends the server span of each call; an observer of the outermost interceptor. */
  public TracingCallObserver callObserver() {
    return new TracingCallObserver(tracer, propagator);
  }

  /** Starts and ends a client span for each upstream attempt; for every upstream channel. */
  public ClientInterceptor upstreamInterceptor() {
    return new TracingClientInterceptor(tracer, propagator);
  }

  /**
   * Starts exporting the spans still buffered and stopping the exporter, once, without waiting for
   * it (so it may run on any thread); spans that end later are dropped.
   */
  synchronized CompletableResultCode shutdown() {
    if (stopping == null) {
      // The exporter's own failures are logged by the SDK.
      stopping = owned == null ? CompletableResultCode.ofSuccess() : owned.shutdown();
    }
    return stopping;
  }

  /** Flushes the spans still buffered and stops the exporter, waiting up to the exporter's timeout. */
  @Override
  public void close() {
    shutdown().join(CLOSE_TIMEOUT_SECONDS, TimeUnit.SECONDS);
  }
}
