package dev.llmproxy.server.observability;

import dev.llmproxy.server.config.ObservabilityConfig;
import dev.llmproxy.server.config.RouteConfig;
import dev.llmproxy.server.config.UpstreamEndpoint;
import dev.llmproxy.server.observability.tracing.TracingLeases;
import dev.llmproxy.server.upstream.UpstreamChannelFactory;
import io.grpc.ClientInterceptor;
import io.grpc.ServerInterceptor;
import io.grpc.ServerStreamTracer;
import io.grpc.netty.shaded.io.netty.util.internal.PlatformDependent;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmInfoMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.FileDescriptorMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.core.instrument.composite.CompositeMeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.opentelemetry.api.OpenTelemetry;
import java.io.IOException;
import java.io.OutputStream;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * The observability parts the config asks for, built together and closed together: the Prometheus
 * endpoint with JVM metrics, the upstream metrics interceptor for the upstream channels, the upstream
 * health watcher, and for each config generation ({@link #generation}) the call observer (metrics,
 * access log, server spans) for the outermost interceptor and the attempt interceptor (client
 * spans) for its calls' upstream attempts. With everything off it builds nothing and adds no
 * interceptor. So a reload applies the access log and tracing (on/off, endpoint, service name,
 * sample ratio) to new calls; the metrics endpoint stays as started.
 */
public final class Observability implements AutoCloseable {
  private static final StreamEndTracer STREAM_END = new StreamEndTracer();
  private static final int ACCESS_LOG_QUEUE = 8192;

  private final MeterRegistry registry;
  private final PrometheusHttpServer http;
  private final OutputStream accessLogOut;
  private final JvmGcMetrics gcMetrics;
  private final CallObserver callMetrics;
  private final TracingLeases tracing;
  private final List<ClientInterceptor> upstreamInterceptors;
  private AccessLog accessLog; // guarded by this: opened when a config first asks for it, then kept
  private UpstreamHealthWatcher healthWatcher;

  private Observability(MeterRegistry registry, PrometheusHttpServer http, OutputStream accessLogOut,
      JvmGcMetrics gcMetrics, CallObserver callMetrics, TracingLeases tracing,
      List<ClientInterceptor> upstreamInterceptors) {
    this.registry = registry;
    this.http = http;
    this.accessLogOut = accessLogOut;
    this.gcMetrics = gcMetrics;
    this.callMetrics = callMetrics;
    this.tracing = tracing;
    this.upstreamInterceptors = upstreamInterceptors;
  }

  /** The registry a proxy with this config should record into: Prometheus when it is scraped. */
  public static MeterRegistry registryFor(ObservabilityConfig config) {
    return config.metrics().enabled()
        ? new PrometheusMeterRegistry(PrometheusConfig.DEFAULT) : new SimpleMeterRegistry();
  }

  /**
   * Starts what {@code config} enables.
   *
   * @param meters where the proxy records; when metrics are served and this is not a Prometheus
   *     registry, a Prometheus registry is added beside it
   * @param accessLogOut where access-log lines go (standard output at the wiring point)
   * @throws IOException if the metrics port cannot be bound
   */
  public static Observability start(ObservabilityConfig config, MeterRegistry meters, OutputStream accessLogOut)
      throws IOException {
    return start(config, meters, accessLogOut, null);
  }

  /**
   * As {@link #start(ObservabilityConfig, MeterRegistry, OutputStream)}, with traces recorded
   * through {@code openTelemetry} while a generation has tracing on (null: an SDK configured from
   * {@code OTEL_*} and the generation's config, closed after its generation).
   */
  public static Observability start(ObservabilityConfig config, MeterRegistry meters, OutputStream accessLogOut,
      OpenTelemetry openTelemetry) throws IOException {
    MeterRegistry registry = meters;
    PrometheusHttpServer http = null;
    JvmGcMetrics gc = null;
    CallObserver callMetrics = null;
    List<ClientInterceptor> upstream = new ArrayList<>();
    if (config.metrics().enabled()) {
      PrometheusMeterRegistry prometheus;
      if (meters instanceof PrometheusMeterRegistry p) {
        prometheus = p;
      } else {
        prometheus = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        registry = new CompositeMeterRegistry(io.micrometer.core.instrument.Clock.SYSTEM, List.of(meters, prometheus));
      }
      gc = bindJvmMetrics(prometheus);
      http = PrometheusHttpServer.start(config.metrics().host(), config.metrics().port(), prometheus);
      callMetrics = new CallMetrics(registry);
      upstream.add(new UpstreamCallsClientInterceptor(registry));
    }
    TracingLeases tracing = openTelemetry != null ? TracingLeases.over(openTelemetry) : TracingLeases.fromConfig();
    return new Observability(registry, http, accessLogOut, gc, callMetrics, tracing, List.copyOf(upstream));
  }

  private static JvmGcMetrics bindJvmMetrics(MeterRegistry registry) {
    new JvmMemoryMetrics().bindTo(registry);
    new JvmThreadMetrics().bindTo(registry);
    new ClassLoaderMetrics().bindTo(registry);
    new JvmInfoMetrics().bindTo(registry);
    new ProcessorMetrics().bindTo(registry);
    new UptimeMetrics().bindTo(registry);
    new FileDescriptorMetrics().bindTo(registry);
    // gRPC's Netty allocates direct buffers outside the JVM's own accounting when it can; this is
    // its counter (-1 when Netty leaves direct memory to the JVM, which jvm.buffer.memory covers).
    Gauge.builder("llmproxy.netty.direct.memory.used", PlatformDependent::usedDirectMemory)
        .description("Direct memory held by gRPC's Netty allocator, in bytes (-1: not tracked by Netty)")
        .baseUnit("bytes")
        .register(registry);
    JvmGcMetrics gc = new JvmGcMetrics();
    gc.bindTo(registry);
    return gc;
  }

  /** The registry everything records into (the given one, or it and Prometheus together). */
  public MeterRegistry registry() {
    return registry;
  }

  /**
   * What a generation built from {@code config} observes its calls with: metrics as started, the
   * access log and tracing as {@code config} says. The caller closes it once the generation's last
   * call has ended, which lets go of the generation's tracing SDK.
   *
   * @throws dev.llmproxy.server.config.ConfigException if the tracing SDK refuses the settings
   */
  public synchronized Generation generation(ObservabilityConfig config) {
    List<CallObserver> observers = new ArrayList<>();
    if (callMetrics != null) {
      observers.add(callMetrics);
    }
    if (config.accessLog()) {
      if (accessLog == null) {
        accessLog = new AccessLog(accessLogOut, ACCESS_LOG_QUEUE, Clock.systemUTC(), registry);
      }
      observers.add(accessLog);
    }
    TracingLeases.Lease lease = tracing.acquire(config.tracing());
    if (lease != null) {
      observers.add(lease.tracing().callObserver());
    }
    return new Generation(observers.isEmpty() ? null : new CallObservingServerInterceptor(observers),
        lease == null ? null : lease.tracing().upstreamInterceptor(), lease);
  }

  /**
   * Applies what a reload may change beyond a generation's interceptors, once it is current: the
   * trace sample ratio (when the config, not {@code OTEL_TRACES_SAMPLER*}, chose the sampler) and
   * the operational log's level and format (when {@link OperationalLog#install} set it up).
   */
  public void reconfigure(ObservabilityConfig config) {
    tracing.setSampleRatio(config.tracing());
    OperationalLog.reconfigure(config.log());
  }

  /**
   * The server's stream tracer: tells the observing interceptor the status of calls that grpc's
   * transport ends itself. Always there, because a reload may turn the access log on.
   */
  public ServerStreamTracer.Factory streamTracer() {
    return STREAM_END;
  }

  /**
   * Interceptors for every upstream channel (empty without metrics). Spans are not among them: each
   * generation's calls apply {@link Generation#upstreamInterceptor()} to their attempts.
   */
  public List<ClientInterceptor> upstreamInterceptors() {
    return upstreamInterceptors;
  }

  /**
   * Where OpenAI-compatible upstreams report the health they poll: the same meters as the gRPC
   * health watch (nothing without metrics).
   */
  public UpstreamChannelFactory.HealthListeners healthListeners() {
    if (http == null) {
      return UpstreamChannelFactory.HealthListeners.NONE;
    }
    return route -> {
      java.util.Map<String, UpstreamHealthMeter> meters = new java.util.concurrent.ConcurrentHashMap<>();
      return (upstream, healthy) ->
          meters.computeIfAbsent(upstream, name -> new UpstreamHealthMeter(registry, route, name)).set(healthy);
    };
  }

  /** Publishes the health of a route's static upstreams (nothing without metrics). */
  public synchronized void watchUpstreamHealth(RouteConfig route, List<UpstreamEndpoint> upstreams) {
    if (http == null || upstreams.isEmpty()) {
      return;
    }
    if (healthWatcher == null) {
      healthWatcher = new UpstreamHealthWatcher(registry, Duration.ofSeconds(1));
    }
    healthWatcher.watch(route, upstreams);
  }

  /** Serves {@code handler} under {@code path} on the metrics port; false when metrics are off. */
  public boolean serveOnMetricsPort(String path, com.sun.net.httpserver.HttpHandler handler) {
    if (http == null) {
      return false;
    }
    http.serve(path, handler);
    return true;
  }

  /** The port of the metrics endpoint, or -1 when metrics are off. */
  public int metricsPort() {
    return http != null ? http.port() : -1;
  }

  @Override
  public synchronized void close() {
    if (healthWatcher != null) {
      healthWatcher.close();
    }
    if (http != null) {
      http.close();
    }
    if (gcMetrics != null) {
      gcMetrics.close();
    }
    if (accessLog != null) {
      accessLog.close();
    }
    tracing.close();
  }

  /**
   * What one config generation observes its calls with ({@link #generation}); closing it lets go of
   * its tracing SDK, which is shut down once no generation uses it.
   */
  public static final class Generation implements AutoCloseable {
    private final ServerInterceptor serverInterceptor;
    private final ClientInterceptor upstreamInterceptor;
    private final TracingLeases.Lease lease;

    private Generation(ServerInterceptor serverInterceptor, ClientInterceptor upstreamInterceptor,
        TracingLeases.Lease lease) {
      this.serverInterceptor = serverInterceptor;
      this.upstreamInterceptor = upstreamInterceptor;
      this.lease = lease;
    }

    /** The outermost interceptor of the generation's service (metrics, access log, server spans); null: none. */
    public ServerInterceptor serverInterceptor() {
      return serverInterceptor;
    }

    /** Runs on each upstream attempt of the generation's calls (client spans); null: tracing is off. */
    public ClientInterceptor upstreamInterceptor() {
      return upstreamInterceptor;
    }

    @Override
    public void close() {
      if (lease != null) {
        lease.close();
      }
    }
  }
}
