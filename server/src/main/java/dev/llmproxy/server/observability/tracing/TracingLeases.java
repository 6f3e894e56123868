package dev.llmproxy.server.observability.tracing;

import dev.llmproxy.server.config.ObservabilityConfig;
import io.opentelemetry.api.OpenTelemetry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Function;

/**
 * The tracing SDK of each config generation, so that a reload can turn tracing on or off or point
 * it elsewhere (endpoint, service name) for new calls while the calls in flight finish traced as
 * they started.
 *
 * <p>A generation leases the {@link ProxyTracing} for its settings when it is built and returns the
 * lease once it is retired and its last call has ended. Generations with the same SDK settings
 * share one SDK, so a reload that changes nothing there keeps it (and its batch of unexported
 * spans); the sample ratio is not an SDK setting: the shared sampler takes a new one in place
 * ({@link #setSampleRatio}). New settings get a new SDK. An SDK whose last lease is returned is shut
 * down, which exports its last spans, {@link #GRACE} later: grpc cancels a call's context (which
 * ends the generation's last call) before it tells the listeners, so the server span of a cancelled
 * call, and the attempt it cancels, end just after.
 *
 * <p>Why generations, and not one tracing holder that every upstream channel's interceptor reads
 * per call: a route whose settings did not change keeps its channel across reloads, so a channel
 * interceptor would have to be installed on every channel whether tracing is on or not (a cost
 * when off), a failover attempt after a reload would be traced by the new SDK under a server span
 * of the old, and the old SDK would still need counting to know when it may close. Instead each
 * generation's service applies its own attempt interceptor to the route's channel (none when off)
 * and its own server-span observer, and the generations' call counts already say when a lease ends.
 */
public final class TracingLeases implements AutoCloseable {
  /** How long an SDK outlives its last lease before it is shut down. */
  public static final Duration GRACE = Duration.ofSeconds(5);

  private final Function<ObservabilityConfig.Tracing, ProxyTracing> build;
  private final Executor afterGrace;
  private final Map<Settings, Shared> live = new HashMap<>(); // guarded by this
  private final List<ProxyTracing> retiring = new ArrayList<>(); // guarded by this
  private boolean closed; // guarded by this

  /** What makes two configs' tracing one SDK: everything but on/off and the sample ratio. */
  private record Settings(String serviceName, String endpoint) {
    static Settings of(ObservabilityConfig.Tracing config) {
      return new Settings(config.serviceName(), config.endpoint());
    }
  }

  private static final class Shared {
    final Settings settings;
    final ProxyTracing tracing;
    int leases; // guarded by the TracingLeases

    Shared(Settings settings, ProxyTracing tracing) {
      this.settings = settings;
      this.tracing = tracing;
    }
  }

  /**
   * @param build the SDK for a config (may throw the config's error)
   * @param afterGrace runs a task {@link #GRACE} from now (tests: at once)
   */
  TracingLeases(Function<ObservabilityConfig.Tracing, ProxyTracing> build, Executor afterGrace) {
    this.build = Objects.requireNonNull(build, "build");
    this.afterGrace = Objects.requireNonNull(afterGrace, "afterGrace");
  }

  /** SDKs configured by the OpenTelemetry autoconfiguration ({@link ProxyTracing#fromConfig}). */
  public static TracingLeases fromConfig() {
    return new TracingLeases(ProxyTracing::fromConfig, laterBy(GRACE));
  }

  /** Tracing over an SDK the caller built and closes, whatever the config's endpoint (tests). */
  public static TracingLeases over(OpenTelemetry openTelemetry) {
    Objects.requireNonNull(openTelemetry, "openTelemetry");
    return new TracingLeases(config -> ProxyTracing.over(openTelemetry), laterBy(GRACE));
  }

  private static Executor laterBy(Duration delay) {
    return CompletableFuture.delayedExecutor(delay.toMillis(), TimeUnit.MILLISECONDS);
  }

  /**
   * The tracing for a generation built from {@code config}, or null when it has tracing off; the
   * caller closes the lease when the generation is done with it.
   *
   * @throws dev.llmproxy.server.config.ConfigException if the SDK refuses the settings
   */
  public synchronized Lease acquire(ObservabilityConfig.Tracing config) {
    if (!config.enabled()) {
      return null;
    }
    if (closed) {
      throw new IllegalStateException("tracing is closed");
    }
    Settings settings = Settings.of(config);
    Shared shared = live.get(settings);
    if (shared == null) {
      shared = new Shared(settings, build.apply(config));
      live.put(settings, shared);
    }
    shared.leases++;
    return new Lease(shared);
  }

  /** Applies {@code config}'s sample ratio to the SDK its settings lease, if any (after a reload). */
  public synchronized void setSampleRatio(ObservabilityConfig.Tracing config) {
    Shared shared = config.enabled() ? live.get(Settings.of(config)) : null;
    if (shared != null) {
      shared.tracing.setSampleRatio(config.sampleRatio());
    }
  }

  private void release(Shared shared) {
    synchronized (this) {
      if (--shared.leases > 0 || closed) {
        return; // still leased, or close() has stopped every SDK already
      }
      live.remove(shared.settings);
      retiring.add(shared.tracing);
    }
    afterGrace.execute(() -> {
      synchronized (this) {
        retiring.remove(shared.tracing);
      }
      shared.tracing.shutdown();
    });
  }

  /** Exports what every SDK still holds and stops them, leased or not. */
  @Override
  public void close() {
    List<ProxyTracing> all = new ArrayList<>();
    synchronized (this) {
      closed = true;
      live.values().forEach(shared -> all.add(shared.tracing));
      all.addAll(retiring);
      live.clear();
      retiring.clear();
    }
    all.forEach(ProxyTracing::close);
  }

  /** One generation's hold on an SDK; closing it again does nothing. */
  public final class Lease implements AutoCloseable {
    private final Shared shared;
    private final AtomicBoolean released = new AtomicBoolean();

    private Lease(Shared shared) {
      this.shared = shared;
    }

    public ProxyTracing tracing() {
      return shared.tracing;
    }

    @Override
    public void close() {
      if (released.compareAndSet(false, true)) {
        release(shared);
      }
    }
  }
}
