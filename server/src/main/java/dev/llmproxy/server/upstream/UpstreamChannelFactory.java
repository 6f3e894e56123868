package dev.llmproxy.server.upstream;

import dev.llmproxy.server.config.LbPolicy;
import dev.llmproxy.server.config.RouteConfig;
import dev.llmproxy.server.config.TlsClientConfig;
import dev.llmproxy.server.config.UpstreamEndpoint;
import io.grpc.ChannelCredentials;
import io.grpc.ClientInterceptor;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.TlsChannelCredentials;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Builds a route's one {@link ManagedChannel}: its upstreams as a static list ({@code static:///})
 * or a DNS name, the route's load-balancing policy and health checking through service config,
 * TLS when configured. Calls run on the transport threads ({@code directExecutor}): nothing on
 * the relay path blocks.
 */
public final class UpstreamChannelFactory {
  private final int maxMessageBytes;
  private final List<ClientInterceptor> interceptors;

  /** @param maxMessageBytes the largest upstream message accepted (a long completion) */
  public UpstreamChannelFactory(int maxMessageBytes) {
    this(maxMessageBytes, List.of());
  }

  /** @param interceptors run on every call of every channel built here (e.g. upstream metrics) */
  public UpstreamChannelFactory(int maxMessageBytes, List<ClientInterceptor> interceptors) {
    this.maxMessageBytes = maxMessageBytes;
    this.interceptors = List.copyOf(interceptors);
  }

  /** A route over {@code upstreams} (ignored when the route names a {@code dns:///} target). */
  public Route create(RouteConfig config, List<UpstreamEndpoint> upstreams) {
    String target = config.target() != null ? config.target()
        : StaticNameResolverProvider.target(upstreams.stream().map(UpstreamEndpoint::address).toList());
    NettyChannelBuilder builder = NettyChannelBuilder.forTarget(target, credentials(config.tls()))
        .defaultServiceConfig(serviceConfig(config).toServiceConfig())
        .directExecutor()
        .maxInboundMessageSize(maxMessageBytes)
        // A fixed window (no BDP auto-tuning) bounds what a slow client can make the proxy hold.
        .flowControlWindow(config.flowControlWindow())
        .userAgent("llmproxy");
    if (!interceptors.isEmpty()) {
      builder.intercept(interceptors);
    }
    if (config.tls() != null && config.tls().authority() != null) {
      builder.overrideAuthority(config.tls().authority());
    }
    Map<String, String> names = new LinkedHashMap<>();
    for (UpstreamEndpoint upstream : upstreams) {
      names.put(upstream.address(), upstream.name());
    }
    return new Route(config, builder.build(), names);
  }

  static UpstreamServiceConfig serviceConfig(RouteConfig config) {
    UpstreamServiceConfig.Builder sc = UpstreamServiceConfig.newBuilder()
        .policy(config.lb().policyName())
        // pick_first has no client-side health checking in grpc-java.
        .healthCheck(config.healthCheck() && config.lb() != LbPolicy.PICK_FIRST);
    if (config.lb() == LbPolicy.LEAST_OUTSTANDING) {
      sc.choiceCount(config.choiceCount());
    }
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
