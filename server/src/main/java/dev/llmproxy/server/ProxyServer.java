package dev.llmproxy.server;

import dev.llmproxy.server.admin.AdminHttpHandler;
import dev.llmproxy.server.cache.CacheServerInterceptor;
import dev.llmproxy.server.cache.SharedResponseCache;
import dev.llmproxy.server.cache.redis.RedisSharedCache;
import dev.llmproxy.server.config.CacheConfig;
import dev.llmproxy.server.config.ProxyConfig;
import dev.llmproxy.server.config.RouteConfig;
import dev.llmproxy.server.config.ServerConfig;
import dev.llmproxy.server.config.ServerLimits;
import dev.llmproxy.server.config.ServerResilience;
import dev.llmproxy.server.config.UpstreamEndpoint;
import dev.llmproxy.server.config.UpstreamProtocol;
import dev.llmproxy.server.limits.IncompleteRequestBudget;
import dev.llmproxy.server.observability.Observability;
import dev.llmproxy.server.observability.RequestIdServerInterceptor;
import dev.llmproxy.server.observability.ThrottledLog;
import dev.llmproxy.server.quota.AccessControl;
import dev.llmproxy.server.quota.QuotaStore;
import dev.llmproxy.server.reload.ConfigReloader;
import dev.llmproxy.server.reload.ConfigSource;
import dev.llmproxy.server.reload.LoadedConfig;
import dev.llmproxy.server.reload.ProxyRuntime;
import dev.llmproxy.server.reload.ReloadResult;
import dev.llmproxy.server.reload.SwappableService;
import dev.llmproxy.server.service.DrainingServerInterceptor;
import dev.llmproxy.server.service.HeaderForwarder;
import dev.llmproxy.server.service.LlmProxyService;
import dev.llmproxy.server.service.RequestParsing;
import dev.llmproxy.server.service.RequestValidator;
import dev.llmproxy.server.service.RoutingServerInterceptor;
import dev.llmproxy.server.shed.LoadShedder;
import dev.llmproxy.server.shed.LoadSheddingServerInterceptor;
import dev.llmproxy.server.upstream.Route;
import dev.llmproxy.server.upstream.RouteTable;
import dev.llmproxy.server.upstream.UpstreamChannelFactory;
import dev.llmproxy.server.upstream.UpstreamTransport;
import dev.llmproxy.v1.LlmProxyGrpc;
import io.grpc.ClientInterceptor;
import io.grpc.InsecureServerCredentials;
import io.micrometer.core.instrument.MeterRegistry;
import io.opentelemetry.api.OpenTelemetry;
import io.grpc.Server;
import io.grpc.ServerCredentials;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.services.HealthStatusManager;
import io.grpc.protobuf.services.ProtoReflectionService;
import io.grpc.protobuf.services.ProtoReflectionServiceV1;
import io.grpc.services.AdminInterface;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The wiring point: builds every part of the proxy from its config by constructor, declares the
 * interceptor order once, and owns the lifecycle of the server, the channels and any simulated
 * upstreams started in-process.
 */
public final class ProxyServer implements AutoCloseable {
  private final Server server;
  private final SwappableService service;
  private final ConfigReloader reloader;
  private final HealthStatusManager health;
  private final EmbeddedUpstreams embedded;
  private final QuotaStores quotaStores;
  private final SharedResponseCache sharedCache;
  private final ScheduledExecutorService timers;
  private final DrainingServerInterceptor drain;
  private final Observability observability;
  private final AtomicBoolean closed = new AtomicBoolean();
  private final AtomicBoolean stoppedNow = new AtomicBoolean();
  private boolean stopping; // guarded by this

  private ProxyServer(Server server, SwappableService service, ConfigReloader reloader, HealthStatusManager health,
      EmbeddedUpstreams embedded, QuotaStores quotaStores, SharedResponseCache sharedCache,
      ScheduledExecutorService timers, DrainingServerInterceptor drain, Observability observability) {
    this.server = server;
    this.service = service;
    this.reloader = reloader;
    this.health = health;
    this.embedded = embedded;
    this.quotaStores = quotaStores;
    this.sharedCache = sharedCache;
    this.timers = timers;
    this.drain = drain;
    this.observability = observability;
  }

  /** Builds and starts the proxy; on failure everything already started is stopped again. */
  public static ProxyServer start(ProxyConfig config) throws IOException {
    return start(config, Observability.registryFor(config.observability()));
  }

  /**
   * Builds and starts the proxy, recording metrics in {@code meters}; on failure everything
   * already started is stopped again. A reload re-applies {@code config} (it has no file).
   */
  public static ProxyServer start(ProxyConfig config, MeterRegistry meters) throws IOException {
    LoadedConfig fixed = new LoadedConfig(config, LoadedConfig.hashOf(config.toString()));
    return start(fixed, () -> fixed, meters, null);
  }

  /**
   * Builds and starts the proxy from {@code config}, recording metrics in {@code meters} and, when
   * tracing is on, spans through {@code openTelemetry} (null: the SDK the config and {@code OTEL_*}
   * describe). A reload re-applies {@code config}.
   */
  public static ProxyServer start(ProxyConfig config, MeterRegistry meters, OpenTelemetry openTelemetry)
      throws IOException {
    LoadedConfig fixed = new LoadedConfig(config, LoadedConfig.hashOf(config.toString()));
    return start(fixed, () -> fixed, meters, openTelemetry);
  }

  /**
   * Builds and starts the proxy from {@code initial}; {@link #reload()} reads {@code source} again.
   * On failure everything already started is stopped again.
   */
  public static ProxyServer start(LoadedConfig initial, ConfigSource source, MeterRegistry meters)
      throws IOException {
    return start(initial, source, meters, null);
  }

  /**
   * As above, with spans through {@code openTelemetry} when tracing is on (null: the SDK the config
   * and {@code OTEL_*} describe).
   */
  public static ProxyServer start(LoadedConfig initial, ConfigSource source, MeterRegistry meters,
      OpenTelemetry openTelemetry) throws IOException {
    ProxyConfig config = initial.config();
    ServerConfig sc = config.server();
    EmbeddedUpstreams embedded = new EmbeddedUpstreams();
    ScheduledExecutorService timers = timers();
    RouteTable routes = null;
    QuotaStores quotaStores = null;
    SharedResponseCache sharedCache = null;
    Observability observability = null;
    try {
      observability = Observability.start(config.observability(), meters, System.out, openTelemetry);
      meters = observability.registry();
      UpstreamChannelFactory channels = new UpstreamChannelFactory(64 << 20, meters,
          observability.upstreamInterceptors(), UpstreamTransport.netty(), observability.healthListeners());
      quotaStores = new QuotaStores(meters);
      // The cache's shared level is opened once, at start (a reload that changes it says a restart is needed).
      sharedCache = openSharedCache(config.cache(), meters);
      ListenerKeys listenerKeys = sc.tls() == null ? null : ListenerKeys.load(sc.tls());
      RuntimeAssembler assembler = new RuntimeAssembler(channels, embedded, quotaStores::open, sharedCache, meters,
          timers, observability, listenerKeys);
      ProxyRuntime runtime = assembler.assemble(config, initial.hash(), null);
      routes = runtime.routes();
      SwappableService service = new SwappableService(runtime);

      HealthStatusManager health = new HealthStatusManager();
      DrainingServerInterceptor drain = new DrainingServerInterceptor();
      NettyServerBuilder builder = NettyServerBuilder
          .forAddress(new InetSocketAddress(sc.host(), sc.port()),
              listenerKeys == null ? InsecureServerCredentials.create() : listenerKeys.credentials())
          .directExecutor()
          .maxInboundMessageSize(sc.maxRequestBytes())
          .addService(ServerInterceptors.intercept(service.definition(), drain))
          .addService(health.getHealthService());
      if (observability.streamTracer() != null) {
        builder.addStreamTracerFactory(observability.streamTracer());
      }
      connectionSettings(builder, sc.resilience());
      limits(builder, sc.limits(), timers, meters);
      if (sc.reflection()) {
        builder.addService(ProtoReflectionServiceV1.newInstance());
        builder.addService(ProtoReflectionService.newInstance());
      }
      if (config.observability().channelz()) {
        builder.addServices(AdminInterface.getStandardServices());
      }
      Server server = builder.build().start();
      // NOT_SERVING until the quota store has answered (Redis: connected), so a readiness probe
      // holds traffic back instead of letting the first calls fail on a store still connecting.
      health.setStatus("", ServingStatus.NOT_SERVING);
      health.setStatus(LlmProxyGrpc.SERVICE_NAME, ServingStatus.NOT_SERVING);
      ConfigReloader reloader = new ConfigReloader(source, assembler, service, meters);
      observability.serveOnMetricsPort("/admin/", new AdminHttpHandler(service::current, reloader::reload, meters));
      ProxyServer proxy = new ProxyServer(server, service, reloader, health, embedded, quotaStores, sharedCache, timers,
          drain, observability);
      QuotaStore store = quotaStores.opened();
      if (store == null) {
        proxy.serving();
      } else {
        store.ready().thenRun(proxy::serving);
      }
      return proxy;
    } catch (IOException | RuntimeException e) {
      if (routes != null) {
        routes.close();
      }
      if (quotaStores != null) {
        quotaStores.close();
      }
      if (sharedCache != null) {
        sharedCache.close();
      }
      embedded.close();
      timers.shutdownNow();
      if (observability != null) {
        observability.close();
      }
      throw e;
    }
  }

  /** Reports SERVING, unless the proxy is already stopping. */
  private synchronized void serving() {
    if (!stopping) {
      health.setStatus("", ServingStatus.SERVING);
      health.setStatus(LlmProxyGrpc.SERVICE_NAME, ServingStatus.SERVING);
    }
  }

  /** Reports NOT_SERVING from now on. */
  private synchronized void notServing() {
    stopping = true;
    health.setStatus("", ServingStatus.NOT_SERVING);
    health.setStatus(LlmProxyGrpc.SERVICE_NAME, ServingStatus.NOT_SERVING);
  }

  /** The {@code LlmProxy} service with routing only: no cache, no keys, no quotas. For tests. */
  public static ServerServiceDefinition proxyService(RouteTable routes, ServerConfig sc, MeterRegistry meters) {
    return proxyService(routes, sc, CacheConfig.disabled(), null, meters);
  }

  /**
   * The {@code LlmProxy} service with its interceptors (their order is declared in the overload
   * below). Public for tests that serve it in-process.
   *
   * @param access API keys and quotas; {@code null}: every caller is anonymous and unlimited
   */
  public static ServerServiceDefinition proxyService(RouteTable routes, ServerConfig sc, CacheConfig cache,
      AccessControl access, MeterRegistry meters) {
    return proxyService(routes, sc, cache, access, meters, timers(), new DrainingServerInterceptor(), null);
  }

  /**
   * The {@code LlmProxy} service with routing only, and {@code observing} (metrics, access log)
   * outermost so that it sees every call, rejected ones included. For tests.
   */
  public static ServerServiceDefinition proxyService(RouteTable routes, ServerConfig sc, MeterRegistry meters,
      ServerInterceptor observing) {
    return proxyService(routes, sc, CacheConfig.disabled(), null, meters, timers(), new DrainingServerInterceptor(),
        observing);
  }

  /**
   * The {@code LlmProxy} service with its interceptors, in the one place their order is declared,
   * with the relays' timer thread and the drain gate that counts its calls given.
   *
   * @param observing records every call (metrics, access log); {@code null}: none
   */
  public static ServerServiceDefinition proxyService(RouteTable routes, ServerConfig sc, CacheConfig cache,
      AccessControl access, MeterRegistry meters, ScheduledExecutorService timers, DrainingServerInterceptor drain,
      ServerInterceptor observing) {
    return proxyService(routes, sc, cache, access, null, meters, timers, drain, observing);
  }

  /**
   * As above, with the cache's shared second level ({@code null}: none; the caller closes it).
   */
  public static ServerServiceDefinition proxyService(RouteTable routes, ServerConfig sc, CacheConfig cache,
      AccessControl access, SharedResponseCache sharedCache, MeterRegistry meters, ScheduledExecutorService timers,
      DrainingServerInterceptor drain, ServerInterceptor observing) {
    LoadShedder shedder = new LoadShedder(routes.routes().stream().map(Route::config).toList(), timers, meters);
    return proxyService(routes, sc, cache.enabled() ? CacheServerInterceptor.create(cache, sharedCache, meters) : null,
        access, shedder, meters, timers, drain, observing, null);
  }

  /**
   * The {@code LlmProxy} service with its interceptors, in the one place their order is declared,
   * from parts built beforehand (a reload hands on the cache and the shedder it keeps).
   *
   * @param cache the cache's interceptor; {@code null}: no cache
   * @param drain the drain gate; {@code null}: none here (a reloadable server puts it outside)
   * @param observing records every call (metrics, access log, server spans); {@code null}: none
   * @param attempts intercepts every upstream attempt (client spans); {@code null}: none
   */
  static ServerServiceDefinition proxyService(RouteTable routes, ServerConfig sc, ServerInterceptor cache,
      AccessControl access, LoadShedder shedder, MeterRegistry meters, ScheduledExecutorService timers,
      DrainingServerInterceptor drain, ServerInterceptor observing, ClientInterceptor attempts) {
    LlmProxyService service = new LlmProxyService(new HeaderForwarder(sc.forwardHeaders()), timers, meters, shedder,
        attempts);
    // The order, first to run to last: drain (counts calls, refuses new ones while shutting down) ->
    // request id (x-request-id: the client's or a new one, returned in the response) ->
    // (metrics, access log, server span) -> parsing the request bytes -> authentication (headers: the
    // key's id into the Context) -> the key's open calls (headers: max_concurrent on this proxy) -> routing
    // and validation (request: the route into the Context) -> quota -> cache -> load shedding (only
    // calls that go upstream hold a slot of the route's cap; a cache miss's upstream call does too)
    // -> the forwarding service (the relay). interceptForward() runs them in the listed order.
    List<ServerInterceptor> outer = new ArrayList<>();
    if (drain != null) {
      outer.add(drain);
    }
    outer.add(new RequestIdServerInterceptor());
    if (observing != null) {
      outer.add(observing);
    }
    // Between the two lists the request bytes are parsed (RequestParsing): the outer stages see every
    // call, malformed ones included, and how it ended; the inner ones see parsed requests.
    List<ServerInterceptor> chain = new ArrayList<>();
    if (access != null) {
      chain.add(access.authentication());
      chain.add(access.openCalls());
    }
    chain.add(new RoutingServerInterceptor(routes, new RequestValidator()));
    if (access != null) {
      chain.add(access.quota());
    }
    if (cache != null) {
      chain.add(cache);
    }
    chain.add(new LoadSheddingServerInterceptor(shedder));
    ServerServiceDefinition parsed = new RequestParsing(new ThrottledLog(System.getLogger(RequestParsing.class.getName()),
        Duration.ofSeconds(10), System::nanoTime)).bind(ServerInterceptors.interceptForward(service.bindService(), chain));
    return ServerInterceptors.interceptForward(parsed, outer);
  }

  /** The cache's shared level in Redis, when configured; its password is read at start and for every connection. */
  private static SharedResponseCache openSharedCache(CacheConfig cache, MeterRegistry meters) {
    if (!cache.enabled() || cache.shared() == null) {
      return null;
    }
    if (cache.shared().password() == null) {
      return new RedisSharedCache(cache.shared(), (String) null, meters);
    }
    cache.shared().password().resolve(); // an unreadable credential stops the start
    return new RedisSharedCache(cache.shared(), cache.shared().password()::resolve, meters);
  }

  public int port() {
    return ((InetSocketAddress) server.getListenSockets().get(0)).getPort();
  }

  /** The port of the Prometheus endpoint, or -1 when metrics are off. */
  public int metricsPort() {
    return observability.metricsPort();
  }

  /** The config new calls run on (the last one a reload applied). */
  public ProxyConfig config() {
    return service.current().config();
  }

  /** The routes and their channels that new calls use. */
  public RouteTable routes() {
    return service.current().routes();
  }

  /**
   * Reloads the config from its source: new calls run on it, calls in flight finish on the config
   * they started with. A bad config changes nothing; the result says why.
   */
  public ReloadResult reload() {
    return reloader.reload();
  }

  /** The running generation (config, hash, routes), for the admin endpoint and tests. */
  public ProxyRuntime runtime() {
    return service.current();
  }

  /** The simulated upstreams started in-process for the demo or a {@code simulated} route. */
  public EmbeddedUpstreams embeddedUpstreams() {
    return embedded;
  }

  public void awaitTermination() throws InterruptedException {
    server.awaitTermination();
  }

  /**
   * Shuts down gracefully: health turns NOT_SERVING, new calls are refused, calls in flight get up
   * to {@code grace} to finish, then the rest are cancelled and everything is closed.
   *
   * @return whether every call finished within the grace period
   */
  public boolean drain(Duration grace) throws InterruptedException {
    notServing();
    drain.startDraining();
    server.shutdown(); // no new connections; GOAWAY on the open ones, whose calls go on
    boolean finished = drain.awaitIdle(grace);
    if (stoppedNow.get()) {
      return false; // stopNow() cancelled the calls and closes everything
    }
    if (!finished) {
      drain.cancelAll(Status.UNAVAILABLE.withDescription("llmproxy is shutting down (shutdown_grace "
          + grace.toMillis() + " ms is over)"));
      drain.awaitIdle(Duration.ofSeconds(1)); // lets the cancelled calls send their status
    }
    close();
    return finished;
  }

  /**
   * Stops without waiting for calls to finish, e.g. on a second SIGTERM during a drain: new calls
   * are refused, the calls in flight are cancelled with UNAVAILABLE (so their clients learn the
   * proxy is shutting down rather than seeing a bare reset), then everything is closed. A
   * {@link #drain} in progress returns false.
   *
   * @return how many calls were still in flight and were cancelled
   */
  public int stopNow() throws InterruptedException {
    stoppedNow.set(true);
    notServing();
    drain.startDraining();
    int cancelled = drain.inFlight();
    drain.cancelAll(Status.UNAVAILABLE.withDescription("llmproxy is shutting down (stopped before calls finished)"));
    drain.awaitIdle(Duration.ofSeconds(1)); // lets the cancelled calls send their status
    close();
    return cancelled;
  }

  /** Whether {@link #stopNow()} was called. */
  public boolean stoppedNow() {
    return stoppedNow.get();
  }

  /** Calls of the {@code LlmProxy} service in flight now. */
  public int callsInFlight() {
    return drain.inFlight();
  }

  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    synchronized (this) {
      stopping = true;
      health.enterTerminalState();
    }
    server.shutdownNow();
    try {
      server.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    service.current().routes().close(); // retired generations close their own routes once idle
    quotaStores.close();
    if (sharedCache != null) {
      sharedCache.close();
    }
    embedded.close();
    timers.shutdownNow();
    observability.close();
  }

  /** Keepalive and connection age toward clients. */
  private static void connectionSettings(NettyServerBuilder builder, ServerResilience r) {
    builder.permitKeepAliveTime(r.permitKeepaliveTime().toNanos(), TimeUnit.NANOSECONDS)
        .permitKeepAliveWithoutCalls(r.permitKeepaliveWithoutCalls());
    if (!r.keepaliveTime().isZero()) {
      builder.keepAliveTime(r.keepaliveTime().toNanos(), TimeUnit.NANOSECONDS)
          .keepAliveTimeout(r.keepaliveTimeout().toNanos(), TimeUnit.NANOSECONDS);
    } else {
      builder.keepAliveTime(Long.MAX_VALUE, TimeUnit.NANOSECONDS); // off
    }
    if (!r.maxConnectionAge().isZero()) {
      builder.maxConnectionAge(r.maxConnectionAge().toNanos(), TimeUnit.NANOSECONDS);
      if (!r.maxConnectionAgeGrace().isZero()) {
        builder.maxConnectionAgeGrace(r.maxConnectionAgeGrace().toNanos(), TimeUnit.NANOSECONDS);
      }
    }
  }

  /**
   * What one client, or all together, may make the listener hold: streams per connection, the
   * rate of stream resets (HTTP/2 rapid reset), and bytes of unfinished request messages. The
   * budget's interceptor goes on the whole server, so it runs before every service's own chain.
   */
  private static void limits(NettyServerBuilder builder, ServerLimits limits, ScheduledExecutorService timers,
      MeterRegistry meters) {
    builder.maxConcurrentCallsPerConnection(limits.maxConcurrentStreams());
    if (limits.maxResets() > 0) {
      builder.maxRstFramesPerWindow(limits.maxResets(), (int) limits.resetWindow().toSeconds());
    }
    IncompleteRequestBudget budget = new IncompleteRequestBudget(limits.maxIncompleteRequestBytes(),
        limits.maxIncompleteRequestBytesPerConnection(), timers, meters);
    builder.addTransportFilter(budget.transportFilter());
    builder.addStreamTracerFactory(budget);
    builder.intercept(budget.interceptor());
  }

  /**
   * One daemon thread for stall checks and queue wait limits; it exits while there is nothing to
   * time, so a service built for a test leaves no thread behind.
   */
  private static ScheduledExecutorService timers() {
    ScheduledThreadPoolExecutor timers = new ScheduledThreadPoolExecutor(1, task -> {
      Thread thread = new Thread(task, "llmproxy-timers");
      thread.setDaemon(true);
      return thread;
    });
    timers.setRemoveOnCancelPolicy(true);
    timers.setKeepAliveTime(5, TimeUnit.SECONDS);
    timers.allowCoreThreadTimeOut(true);
    return timers;
  }

}
