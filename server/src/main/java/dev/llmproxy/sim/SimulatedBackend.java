package dev.llmproxy.sim;

import static java.util.Objects.requireNonNull;

import dev.llmproxy.orca.OpenRcaService;
import dev.llmproxy.v1.LlmProxyGrpc;
import io.grpc.Server;
import io.grpc.ServerInterceptors;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.services.HealthStatusManager;
import io.grpc.protobuf.services.ProtoReflectionServiceV1;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A simulated LLM server: a real gRPC server (Netty, plaintext) that implements
 * {@code llmproxy.v1.LlmProxy}, the gRPC health service, ORCA's {@code OpenRcaService} (its engine
 * load, out of band) and server reflection, for demos, tests and benchmarks.
 *
 * <p>It produces deterministic text from the request's model, prompt or messages and seed, exactly
 * {@code max_tokens} tokens (64 if 0) unless a {@code stop} string ends it early, at the pace its
 * {@link SimulatedBackendConfig} sets (time to first token, inter-token latency, jitter), with at most
 * {@code maxConcurrency} calls generating at once and the rest queued, and with optional {@link Faults}.
 * Streams respect flow control: a client that stops reading stops generation. Each response names the
 * backend in the {@code llmproxy-upstream} header, sent with the first token. Every call is recorded
 * in the {@link #recorder()}.
 *
 * <pre>{@code
 * try (SimulatedBackend sim = SimulatedBackend.start("127.0.0.1", 0,
 *     SimulatedBackendConfig.defaults("sim-a").withInterTokenLatency(Duration.ofMillis(20)))) {
 *   ManagedChannel channel = Grpc.newChannelBuilder(sim.address(), InsecureChannelCredentials.create()).build();
 *   ...
 * }
 * }</pre>
 *
 * <p>Health reports SERVING for {@code ""} and {@code llmproxy.v1.LlmProxy} until {@link
 * #setServing(boolean) setServing(false)}; calls are served either way, as a draining server would.
 * Thread-safe.
 */
public final class SimulatedBackend implements AutoCloseable {
  private static final String SERVICE_NAME = LlmProxyGrpc.SERVICE_NAME;
  private static final int MAX_INBOUND_MESSAGE_BYTES = 16 * 1024 * 1024;
  /** Out-of-band load reports go no more often than this, whatever a client asks. */
  static final Duration MIN_LOAD_REPORT_INTERVAL = Duration.ofMillis(100);

  private final Server server;
  private final String dialHost;
  private final int port;
  private final HealthStatusManager health;
  private final ScheduledThreadPoolExecutor scheduler;
  private final AdmissionQueue admission;
  private final PrefixKvCache kvCache;
  private final CallRecorder recorder;
  private final AtomicBoolean closed = new AtomicBoolean();
  private final AtomicReference<SimulatedBackendConfig> config;
  private final AtomicBoolean perCallLoadReports;

  private SimulatedBackend(
      Server server,
      String dialHost,
      HealthStatusManager health,
      ScheduledThreadPoolExecutor scheduler,
      AdmissionQueue admission,
      PrefixKvCache kvCache,
      CallRecorder recorder,
      AtomicReference<SimulatedBackendConfig> config,
      AtomicBoolean perCallLoadReports) {
    this.perCallLoadReports = perCallLoadReports;
    this.server = server;
    this.dialHost = dialHost;
    this.port = server.getPort();
    this.health = health;
    this.scheduler = scheduler;
    this.admission = admission;
    this.kvCache = kvCache;
    this.recorder = recorder;
    this.config = config;
  }

  /**
   * Starts a backend listening on {@code host:port}.
   *
   * @param port the port, or 0 for an ephemeral one (see {@link #port()})
   * @throws IOException if the server cannot bind
   */
  public static SimulatedBackend start(String host, int port, SimulatedBackendConfig config)
      throws IOException {
    requireNonNull(host, "host");
    requireNonNull(config, "config");
    if (port < 0 || port > 65535) {
      throw new IllegalArgumentException("port: " + port + " (expected: 0 to 65535)");
    }
    ScheduledThreadPoolExecutor scheduler = new ScheduledThreadPoolExecutor(
        Math.max(1, Math.min(2, Runtime.getRuntime().availableProcessors())),
        daemonThreads("llmproxy-sim-" + config.name() + "-"));
    scheduler.setRemoveOnCancelPolicy(true);
    AdmissionQueue admission = new AdmissionQueue(config.maxConcurrency(), config.maxQueue());
    CallRecorder recorder = new CallRecorder();
    PrefixKvCache kvCache = new PrefixKvCache();
    HealthStatusManager health = new HealthStatusManager();
    AtomicReference<SimulatedBackendConfig> current = new AtomicReference<>(config);
    SimulatedLlmService service =
        new SimulatedLlmService(current::get, scheduler, admission, kvCache, recorder);
    EngineLoadReporter load = new EngineLoadReporter(admission, kvCache, current::get);
    AtomicBoolean perCallLoadReports = new AtomicBoolean(true);
    Server server = NettyServerBuilder.forAddress(new InetSocketAddress(host, port))
        .directExecutor()
        .addService(ServerInterceptors.intercept(
            service, new LoadReportServerInterceptor(load, perCallLoadReports::get),
            new UpstreamMetadataServerInterceptor(config.name())))
        .addService(OpenRcaService.definition(load::report, scheduler, MIN_LOAD_REPORT_INTERVAL))
        .addService(health.getHealthService())
        .addService(ProtoReflectionServiceV1.newInstance())
        .maxInboundMessageSize(MAX_INBOUND_MESSAGE_BYTES)
        // Let proxies keep upstream connections alive with pings (the default allows one per 5 min).
        .permitKeepAliveTime(10, TimeUnit.SECONDS)
        .permitKeepAliveWithoutCalls(true)
        .build();
    try {
      server.start();
    } catch (IOException | RuntimeException e) {
      scheduler.shutdownNow();
      throw e;
    }
    health.setStatus("", ServingStatus.SERVING);
    health.setStatus(SERVICE_NAME, ServingStatus.SERVING);
    return new SimulatedBackend(
        server, dialHost(host), health, scheduler, admission, kvCache, recorder, current, perCallLoadReports);
  }

  /** Starts a backend on an ephemeral port of 127.0.0.1. */
  public static SimulatedBackend start(SimulatedBackendConfig config) throws IOException {
    return start("127.0.0.1", 0, config);
  }

  /** Its prefix KV cache, whose counters say how much of the prompts it was sent were cached. */
  public PrefixKvCache kvCache() {
    return kvCache;
  }

  /** Calls generating now (holding a batch slot). */
  public int running() {
    return admission.running();
  }

  /** Calls waiting for a batch slot now. */
  public int waiting() {
    return admission.queued();
  }

  /** The port it listens on. */
  public int port() {
    return port;
  }

  /** {@code host:port} for clients to dial, e.g. {@code 127.0.0.1:7001} (loopback for a wildcard host). */
  public String address() {
    return dialHost + ":" + port;
  }

  /** The backend's name, as in {@code llmproxy-upstream}. */
  public String name() {
    return config.get().name();
  }

  /** The current settings. */
  public SimulatedBackendConfig config() {
    return config.get();
  }

  /** What the backend saw. */
  public CallRecorder recorder() {
    return recorder;
  }

  /** Sets the health status of {@code ""} and {@code llmproxy.v1.LlmProxy}: SERVING or NOT_SERVING. */
  public void setServing(boolean serving) {
    if (closed.get()) {
      return;
    }
    ServingStatus status = serving ? ServingStatus.SERVING : ServingStatus.NOT_SERVING;
    health.setStatus("", status);
    health.setStatus(SERVICE_NAME, status);
  }

  /**
   * Whether calls carry the engine's load in their trailers (the default); false models an engine
   * that reports only out of band, on its {@code OpenRcaService} stream, which it always serves.
   */
  public void setPerCallLoadReports(boolean send) {
    perCallLoadReports.set(send);
  }

  /** Replaces the faults; calls that start from now on see them. */
  public void setFaults(Faults faults) {
    requireNonNull(faults, "faults");
    synchronized (this) {
      setConfig(config.get().withFaults(faults));
    }
  }

  /**
   * Replaces the settings: timing and faults apply to calls that start from now on, capacity at once
   * (calls already generating keep their slots; a higher limit admits queued calls). The name cannot
   * change.
   */
  public synchronized void setConfig(SimulatedBackendConfig newConfig) {
    requireNonNull(newConfig, "newConfig");
    String name = config.get().name();
    if (!newConfig.name().equals(name)) {
      throw new IllegalArgumentException("name: '" + newConfig.name()
          + "' (expected: '" + name + "'; a running backend keeps its name)");
    }
    config.set(newConfig);
    admission.setLimits(newConfig.maxConcurrency(), newConfig.maxQueue());
  }

  /** Blocks until the backend has shut down, through {@link #close()} or a shutdown hook. */
  public void awaitTermination() throws InterruptedException {
    server.awaitTermination();
  }

  /**
   * Kills the backend like a crashed upstream: open calls are cancelled and connections reset
   * ({@code shutdownNow}). Waits up to 5 seconds for the server to terminate. Idempotent.
   */
  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    health.enterTerminalState();
    server.shutdownNow();
    try {
      server.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } finally {
      scheduler.shutdownNow();
    }
  }

  @Override
  public String toString() {
    return "SimulatedBackend{" + name() + " at " + address() + (closed.get() ? ", closed" : "") + "}";
  }

  /** The host clients dial: loopback for a wildcard address, IPv6 literals in brackets. */
  private static String dialHost(String host) {
    String dial = host;
    try {
      if (host.isEmpty() || InetAddress.getByName(host).isAnyLocalAddress()) {
        dial = "127.0.0.1";
      }
    } catch (IOException e) {
      // Bound, so resolvable a moment ago; keep the name as given.
    }
    return dial.indexOf(':') >= 0 && !dial.startsWith("[") ? "[" + dial + "]" : dial;
  }

  private static ThreadFactory daemonThreads(String prefix) {
    AtomicInteger count = new AtomicInteger();
    return runnable -> {
      Thread thread = new Thread(runnable, prefix + count.incrementAndGet());
      thread.setDaemon(true);
      return thread;
    };
  }
}
