package dev.llmproxy.server.upstream;

import dev.llmproxy.server.config.LbPolicy;
import dev.llmproxy.server.config.RouteConfig;
import dev.llmproxy.server.config.TlsClientConfig;
import dev.llmproxy.server.config.UpstreamEndpoint;
import dev.llmproxy.server.config.UpstreamKeepalive;
import io.grpc.ChannelCredentials;
import io.grpc.ClientInterceptor;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.TlsChannelCredentials;
import io.grpc.inprocess.InProcessChannelBuilder;
import dev.llmproxy.server.config.UpstreamProtocol;
import dev.llmproxy.server.upstream.openai.OpenAiUpstreams;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.netty.channel.ChannelOption;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.TimeUnit;

/**
 * Builds a route's one {@link ManagedChannel}: its upstreams as a static list ({@code static:///})
 * or a DNS name, the route's load-balancing policy and health checking through service config,
 * TLS when configured, keepalive pings as the route sets them, and the route's outlier state (kept
 * by the channel's avoidance policy).
 * Calls run on the transport threads ({@code directExecutor}): nothing on the relay path blocks.
 */
public final class UpstreamChannelFactory {
  private final int maxMessageBytes;
  private final MeterRegistry meters;
  private final List<ClientInterceptor> interceptors;
  private final UpstreamTransport transport;
  private final HealthListeners healthListeners;
  private final StaticNameResolver.HostResolver hostResolver;

  /** Where each route's OpenAI-compatible upstreams report the health they poll (for metrics). */
  @FunctionalInterface
  public interface HealthListeners {
    HealthListeners NONE = route -> OpenAiUpstreams.HealthListener.NONE;

    OpenAiUpstreams.HealthListener forRoute(String route);
  }

  /**
   * Channels that are not routes (the health watch's): no route meters, so that a channel per
   * upstream does not register a placeholder route's gauges again and again.
   *
   * @param maxMessageBytes the largest upstream message accepted (a long completion)
   */
  public UpstreamChannelFactory(int maxMessageBytes) {
    this(maxMessageBytes, null, List.of());
  }

  /**
   * @param meters where each route's {@code llmproxy.upstream.ejected} (upstreams ejected now) and
   *     {@code llmproxy.upstream.outlier.ejections} (ejections so far) are registered; null: nowhere
   * @param interceptors run on every call of every channel built here (e.g. upstream metrics)
   */
  public UpstreamChannelFactory(int maxMessageBytes, MeterRegistry meters, List<ClientInterceptor> interceptors) {
    this(maxMessageBytes, meters, interceptors, UpstreamTransport.netty());
  }

  /** @param transport makes each channel's builder (Netty over TCP, or in-process in tests) */
  public UpstreamChannelFactory(int maxMessageBytes, MeterRegistry meters, List<ClientInterceptor> interceptors,
      UpstreamTransport transport) {
    this(maxMessageBytes, meters, interceptors, transport, HealthListeners.NONE);
  }

  /**
   * @param transport makes each gRPC route's channel builder (Netty over TCP, or in-process in tests)
   * @param healthListeners told the polled health of OpenAI-compatible upstreams
   */
  public UpstreamChannelFactory(int maxMessageBytes, MeterRegistry meters, List<ClientInterceptor> interceptors,
      UpstreamTransport transport, HealthListeners healthListeners) {
    this.maxMessageBytes = maxMessageBytes;
    this.meters = meters;
    this.interceptors = List.copyOf(interceptors);
    this.transport = Objects.requireNonNull(transport, "transport");
    this.healthListeners = Objects.requireNonNull(healthListeners, "healthListeners");
    this.hostResolver = null;
  }

  /** Looks up the host names of {@code dns:///} targets with {@code hostResolver} (tests fake DNS). */
  UpstreamChannelFactory(int maxMessageBytes, MeterRegistry meters, List<ClientInterceptor> interceptors,
      UpstreamTransport transport, StaticNameResolver.HostResolver hostResolver) {
    this.maxMessageBytes = maxMessageBytes;
    this.meters = meters;
    this.interceptors = List.copyOf(interceptors);
    this.transport = Objects.requireNonNull(transport, "transport");
    this.healthListeners = HealthListeners.NONE;
    this.hostResolver = Objects.requireNonNull(hostResolver, "hostResolver");
  }

  /** A route over {@code upstreams} (ignored when the route names a {@code dns:///} target). */
  public Route create(RouteConfig config, List<UpstreamEndpoint> upstreams) {
    if (config.protocol() == UpstreamProtocol.OPENAI) {
      return createOpenAi(config, upstreams);
    }
    // dns:/// goes to our resolver, which looks the name up every dns_refresh (grpc's own DNS
    // resolver does so only after a connection fails, so added engines would get no calls).
    String target = PeriodicDnsNameResolverProvider.isDns(config.target())
        ? PeriodicDnsNameResolverProvider.target(config.target())
        : config.target() != null ? config.target()
        : StaticNameResolverProvider.target(upstreams.stream().map(UpstreamEndpoint::address).toList());
    NameRefresh refresh = new NameRefresh();
    RouteOutliers outliers = outliers(config);
    ManagedChannel channel = transport.channel(target, credentials(config.tls()), builder -> {
      configure(builder, config);
      builder.setNameResolverArg(NameRefresh.KEY, refresh)
          .setNameResolverArg(AvoidanceLoadBalancerProvider.OUTLIERS, outliers)
          .setNameResolverArg(PeriodicDnsNameResolverProvider.INTERVAL, config.resilience().dnsRefresh());
      if (hostResolver != null) {
        builder.setNameResolverArg(PeriodicDnsNameResolverProvider.HOST_RESOLVER, hostResolver);
      }
    });
    return new Route(config, channel, names(upstreams), outliers, String::valueOf, () -> { }, refresh);
  }

  /** The route's settings, on a builder from the transport. */
  private void configure(ManagedChannelBuilder<?> builder, RouteConfig config) {
    common(builder, config);
    builder.userAgent("llmproxy");
    if (builder instanceof NettyChannelBuilder netty) {
      // A fixed window (no BDP auto-tuning) bounds what a slow client can make the proxy hold.
      netty.flowControlWindow(config.flowControlWindow())
          // An unreachable address fails the connection attempt (UNAVAILABLE) after this, not Netty's 30 s.
          .withOption(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) config.resilience().connectTimeout().toMillis());
    }
    if (config.tls() != null && config.tls().authority() != null) {
      builder.overrideAuthority(config.tls().authority());
    }
    UpstreamKeepalive keepalive = config.resilience().keepalive();
    if (keepalive.enabled()) {
      builder.keepAliveTime(keepalive.time().toNanos(), TimeUnit.NANOSECONDS)
          .keepAliveTimeout(keepalive.timeout().toNanos(), TimeUnit.NANOSECONDS)
          .keepAliveWithoutCalls(false);
    }
  }

  /**
   * A route over OpenAI-compatible upstreams: each is an in-process gRPC server that translates
   * calls to HTTP, and the channel reaches them through {@link
   * dev.llmproxy.server.upstream.openai.OpenAiNameResolverProvider}, with the same balancing,
   * health checking and outlier detection as a gRPC route.
   */
  private Route createOpenAi(RouteConfig config, List<UpstreamEndpoint> upstreams) {
    String apiKey = config.openai().apiKey() == null ? null : config.openai().apiKey().resolve();
    OpenAiUpstreams openAi = new OpenAiUpstreams(config.withUpstreams(upstreams), apiKey, maxMessageBytes,
        healthListeners.forRoute(config.name()));
    try {
      NameRefresh refresh = new NameRefresh();
      RouteOutliers outliers = outliers(config);
      InProcessChannelBuilder builder = InProcessChannelBuilder.forTarget(openAi.target())
          .setNameResolverArg(OpenAiUpstreams.KEY, openAi)
          .setNameResolverArg(NameRefresh.KEY, refresh)
          .setNameResolverArg(AvoidanceLoadBalancerProvider.OUTLIERS, outliers);
      return new Route(config, common(builder, config).build(), names(upstreams), outliers, openAi::nameOf, openAi,
          refresh);
    } catch (RuntimeException e) {
      openAi.close();
      throw e;
    }
  }

  private <T extends ManagedChannelBuilder<?>> T common(T builder, RouteConfig config) {
    // No grpc retries: the relay fails over itself (service.Failover), and with retries on grpc
    // wraps every upstream call in a RetriableStream that passes each message through one more
    // synchronization queue, about 5% of the event loops' time in a profile of paced streams.
    builder.defaultServiceConfig(balancing(config))
        .disableRetry()
        .directExecutor()
        .maxInboundMessageSize(maxMessageBytes);
    if (!interceptors.isEmpty()) {
      builder.intercept(interceptors);
    }
    return builder;
  }

  private static Map<String, String> names(List<UpstreamEndpoint> upstreams) {
    Map<String, String> names = new LinkedHashMap<>();
    for (UpstreamEndpoint upstream : upstreams) {
      names.put(upstream.address(), upstream.name());
    }
    return names;
  }

  /** The route's outlier state, which its channel's avoidance policy keeps, in the route's meters. */
  private RouteOutliers outliers(RouteConfig config) {
    RouteOutliers outliers = new RouteOutliers();
    if (meters != null) {
      Gauge.builder("llmproxy.upstream.ejected", outliers, RouteOutliers::ejectedCount)
          .description("Upstreams of the route ejected now (outlier detection)").tag("route", config.name())
          .register(meters);
      FunctionCounter.builder("llmproxy.upstream.outlier.ejections", outliers, RouteOutliers::ejections)
          .description("Outlier ejections of the route's upstreams so far").tag("route", config.name())
          .register(meters);
    }
    return outliers;
  }

  /**
   * The route's service config: its policy inside {@link AvoidanceLoadBalancerProvider}'s, which
   * keeps every policy's picks away from ejected and busy upstreams and those a call already failed
   * on, and learns each call's outcome itself.
   */
  static Map<String, ?> balancing(RouteConfig config) {
    return serviceConfig(config).toServiceConfig();
  }

  static UpstreamServiceConfig serviceConfig(RouteConfig config) {
    UpstreamServiceConfig.Builder sc = UpstreamServiceConfig.newBuilder()
        .policy(config.lb().policyName())
        // pick_first has no client-side health checking in grpc-java.
        .healthCheck(config.healthCheck() && config.lb() != LbPolicy.PICK_FIRST);
    if (config.lb() == LbPolicy.LEAST_OUTSTANDING) {
      sc.choiceCount(config.choiceCount());
    }
    sc.ewmaDecay(config.balancing().ewmaDecay()).ewmaBatchSize(config.balancing().ewmaBatchSize()).loadFactor(config.balancing().loadFactor())
        .reportTtl(config.balancing().reportTtl()).outOfBandReports(config.balancing().outOfBand())
        .avoidance(config.resilience().outliers());
    return sc.build();
  }

  private static ChannelCredentials credentials(TlsClientConfig tls) {
    if (tls == null) {
      return InsecureChannelCredentials.create();
    }
    try {
      TlsChannelCredentials.Builder creds = TlsChannelCredentials.newBuilder();
      if (tls.ca() != null) {
        creds.trustManager(tls.ca().toFile());
      }
      if (tls.certChain() != null) {
        creds.keyManager(tls.certChain().toFile(), tls.privateKey().toFile());
      }
      return creds.build();
    } catch (IOException e) {
      throw new UncheckedIOException("upstream TLS files could not be read: " + e.getMessage(), e);
    }
  }
}
