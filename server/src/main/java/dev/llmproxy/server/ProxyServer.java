package dev.llmproxy.server;

import dev.llmproxy.server.config.ProxyConfig;
import dev.llmproxy.server.config.RouteConfig;
import dev.llmproxy.server.config.ServerConfig;
import dev.llmproxy.server.config.TlsServerConfig;
import dev.llmproxy.server.config.UpstreamEndpoint;
import dev.llmproxy.server.observability.Observability;
import dev.llmproxy.server.service.HeaderForwarder;
import dev.llmproxy.server.service.LlmProxyService;
import dev.llmproxy.server.service.RequestValidator;
import dev.llmproxy.server.service.RoutingServerInterceptor;
import dev.llmproxy.server.upstream.Route;
import dev.llmproxy.server.upstream.RouteTable;
import dev.llmproxy.server.upstream.UpstreamChannelFactory;
import dev.llmproxy.v1.LlmProxyGrpc;
import io.grpc.InsecureServerCredentials;
import io.micrometer.core.instrument.MeterRegistry;
import io.grpc.Server;
import io.grpc.ServerCredentials;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.ServerServiceDefinition;
import io.grpc.TlsServerCredentials;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.services.HealthStatusManager;
import io.grpc.protobuf.services.ProtoReflectionService;
import io.grpc.protobuf.services.ProtoReflectionServiceV1;
import io.grpc.services.AdminInterface;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The wiring point: builds every part of the proxy from its config by constructor, declares the
 * interceptor order once, and owns the lifecycle of the server, the channels and any simulated
 * upstreams started in-process.
 */
public final class ProxyServer implements AutoCloseable {
  private final ProxyConfig config;
  private final Server server;
  private final RouteTable routes;
  private final HealthStatusManager health;
  private final EmbeddedUpstreams embedded;
  private final Observability observability;

  private ProxyServer(ProxyConfig config, Server server, RouteTable routes, HealthStatusManager health,
      EmbeddedUpstreams embedded, Observability observability) {
    this.config = config;
    this.server = server;
    this.routes = routes;
    this.health = health;
    this.embedded = embedded;
    this.observability = observability;
  }

  /** Builds and starts the proxy; on failure everything already started is stopped again. */
  public static ProxyServer start(ProxyConfig config) throws IOException {
    return start(config, Observability.registryFor(config.observability()));
  }

  /**
   * Builds and starts the proxy, recording metrics in {@code meters}; on failure everything
   * already started is stopped again.
   */
  public static ProxyServer start(ProxyConfig config, MeterRegistry meters) throws IOException {
    ServerConfig sc = config.server();
    EmbeddedUpstreams embedded = new EmbeddedUpstreams();
    RouteTable routes = null;
    Observability observability = null;
    try {
      observability = Observability.start(config.observability(), meters, System.out);
      meters = observability.registry();
      UpstreamChannelFactory channels = new UpstreamChannelFactory(64 << 20, observability.upstreamInterceptors());
      List<Route> built = new ArrayList<>();
      for (RouteConfig rc : config.routes()) {
        List<UpstreamEndpoint> upstreams = rc.simulated() != null
            ? embedded.start(rc.name(), rc.simulated()) : rc.upstreams();
        built.add(channels.create(rc, upstreams));
        observability.watchUpstreamHealth(rc, upstreams, channels);
      }
      routes = new RouteTable(built);

      HealthStatusManager health = new HealthStatusManager();
      NettyServerBuilder builder = NettyServerBuilder
          .forAddress(new InetSocketAddress(sc.host(), sc.port()), credentials(sc.tls()))
          .directExecutor()
          .maxInboundMessageSize(sc.maxRequestBytes())
          .addService(proxyService(routes, sc, meters, observability.serverInterceptor()))
          .addService(health.getHealthService());
      if (sc.reflection()) {
        builder.addService(ProtoReflectionServiceV1.newInstance());
        builder.addService(ProtoReflectionService.newInstance());
      }
      if (config.observability().channelz()) {
        builder.addServices(AdminInterface.getStandardServices());
      }
      Server server = builder.build().start();
      health.setStatus("", ServingStatus.SERVING);
      health.setStatus(LlmProxyGrpc.SERVICE_NAME, ServingStatus.SERVING);
      return new ProxyServer(config, server, routes, health, embedded, observability);
    } catch (IOException | RuntimeException e) {
      if (routes != null) {
        routes.close();
      }
      embedded.close();
      if (observability != null) {
        observability.close();
      }
      throw e;
    }
  }

  /**
   * The {@code LlmProxy} service with its interceptors, in the one place their order is declared.
   * Public for tests that serve it in-process.
   */
  public static ServerServiceDefinition proxyService(RouteTable routes, ServerConfig sc, MeterRegistry meters) {
    return proxyService(routes, sc, meters, null);
  }

  /**
   * The {@code LlmProxy} service with its interceptors, and {@code observing} (metrics, access log;
   * may be null) outermost so that it sees every call, rejected ones included.
   */
  public static ServerServiceDefinition proxyService(RouteTable routes, ServerConfig sc, MeterRegistry meters,
      ServerInterceptor observing) {
    ServerServiceDefinition intercepted = interceptedService(routes, sc, meters);
    return observing == null ? intercepted : ServerInterceptors.intercept(intercepted, observing);
  }

  private static ServerServiceDefinition interceptedService(RouteTable routes, ServerConfig sc,
      MeterRegistry meters) {
    LlmProxyService service = new LlmProxyService(new HeaderForwarder(sc.forwardHeaders()));
    // The order, first to run to last: (metrics, access log) -> authentication (headers: the key's
    // id into the Context) -> routing and validation (request: the route into the Context) ->
    // quota -> cache -> the forwarding service. intercept() runs the LAST listed interceptor first.
    return ServerInterceptors.intercept(service.bindService(),
        new RoutingServerInterceptor(routes, new RequestValidator()));
  }

  public int port() {
    return ((InetSocketAddress) server.getListenSockets().get(0)).getPort();
  }

  public ProxyConfig config() {
    return config;
  }

  /** The port of the Prometheus endpoint, or -1 when metrics are off. */
  public int metricsPort() {
    return observability.metricsPort();
  }

  /** The simulated upstreams started in-process for the demo or a {@code simulated} route. */
  public EmbeddedUpstreams embeddedUpstreams() {
    return embedded;
  }

  public void awaitTermination() throws InterruptedException {
    server.awaitTermination();
  }

  @Override
  public void close() {
    health.enterTerminalState();
    server.shutdownNow();
    try {
      server.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    routes.close();
    embedded.close();
    observability.close();
  }

  private static ServerCredentials credentials(TlsServerConfig tls) throws IOException {
    if (tls == null) {
      return InsecureServerCredentials.create();
    }
    TlsServerCredentials.Builder creds = TlsServerCredentials.newBuilder()
        .keyManager(tls.certChain().toFile(), tls.privateKey().toFile());
    if (tls.clientCa() != null) {
      creds.trustManager(tls.clientCa().toFile()).clientAuth(TlsServerCredentials.ClientAuth.REQUIRE);
    }
    return creds.build();
  }
}
