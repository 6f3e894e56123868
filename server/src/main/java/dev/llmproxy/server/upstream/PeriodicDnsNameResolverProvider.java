package dev.llmproxy.server.upstream;

import io.grpc.NameResolver;
import io.grpc.NameResolverProvider;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.URI;
import java.time.Duration;
import java.util.Collection;
import java.util.List;

/**
 * Resolves {@code llmproxy-dns:///host:port}, the scheme {@link UpstreamChannelFactory} gives a
 * gRPC route's {@code dns:///host:port} target, with a {@link PeriodicDnsNameResolver}. Its
 * interval comes from the channel's name-resolver arguments ({@link #INTERVAL}, the route's
 * {@code dns_refresh}). Registered through {@code META-INF/services}.
 */
public final class PeriodicDnsNameResolverProvider extends NameResolverProvider {
  public static final String SCHEME = "llmproxy-dns";
  static final NameResolver.Args.Key<Duration> INTERVAL = NameResolver.Args.Key.create("llmproxy-dns-interval");
  /** Tests answer look-ups themselves; absent: the system resolver. */
  static final NameResolver.Args.Key<StaticNameResolver.HostResolver> HOST_RESOLVER =
      NameResolver.Args.Key.create("llmproxy-dns-host-resolver");

  /** The target for a route's {@code dns:///host:port} (or {@code dns:host:port}) target. */
  static String target(String dnsTarget) {
    String rest = dnsTarget.substring("dns:".length());
    if (rest.startsWith("//")) {
      rest = rest.substring(rest.indexOf('/', 2) + 1); // drops the DNS server authority, if any
    }
    return SCHEME + ":///" + rest;
  }

  static boolean isDns(String target) {
    return target != null && target.startsWith("dns:");
  }

  @Override
  protected boolean isAvailable() {
    return true;
  }

  @Override
  protected int priority() {
    return 5;
  }

  @Override
  public String getDefaultScheme() {
    return SCHEME;
  }

  @Override
  public Collection<Class<? extends SocketAddress>> getProducedSocketAddressTypes() {
    return List.of(InetSocketAddress.class);
  }

  @Override
  public NameResolver newNameResolver(URI targetUri, NameResolver.Args args) {
    return SCHEME.equals(targetUri.getScheme()) ? create(targetUri.toString(), targetUri.getPath(), args) : null;
  }

  @Override
  public NameResolver newNameResolver(io.grpc.Uri targetUri, NameResolver.Args args) {
    return SCHEME.equals(targetUri.getScheme()) ? create(targetUri.toString(), targetUri.getPath(), args) : null;
  }

  private NameResolver create(String target, String path, NameResolver.Args args) {
    String hostPort = path.startsWith("/") ? path.substring(1) : path;
    HostPort parsed = StaticTarget.parse(hostPort, target).backends().get(0);
    Duration interval = args.getArg(INTERVAL);
    StaticNameResolver.HostResolver hosts = args.getArg(HOST_RESOLVER);
    return new PeriodicDnsNameResolver(target, parsed,
        interval != null ? interval : dev.llmproxy.server.config.RouteResilience.DEFAULT_DNS_REFRESH,
        hosts != null ? hosts : StaticNameResolver.HostResolver.SYSTEM, args, args.getArg(NameRefresh.KEY));
  }
}
