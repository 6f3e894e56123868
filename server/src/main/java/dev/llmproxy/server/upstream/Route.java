package dev.llmproxy.server.upstream;

import dev.llmproxy.server.config.LbPolicy;
import dev.llmproxy.server.config.RouteConfig;
import dev.llmproxy.v1.CompletionRequest;
import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import javax.annotation.Nullable;

/**
 * A route at run time: its config, the one load-balanced channel over its upstreams, and the
 * outlier state that channel's avoidance policy keeps (read here for metrics and admin).
 */
public final class Route {
  /**
   * The route an upstream call belongs to, for client interceptors on the route's channel (upstream
   * calls run in the root context, so the server call's context does not reach them).
   */
  public static final CallOptions.Key<Route> CALL_OPTION = CallOptions.Key.create("llmproxy-route");

  private final RouteConfig config;
  private final ManagedChannel channel;
  private final RouteOutliers outliers;
  private final Map<String, String> namesByAddress;
  private final Map<SocketAddress, String> nameCache = new ConcurrentHashMap<>();
  private final Function<SocketAddress, String> otherNames;
  private final AutoCloseable resources;
  private final NameRefresh names;
  @Nullable private final PromptPrefixHasher prefixHasher;

  /**
   * @param namesByAddress configured upstream names keyed by {@code host:port}; upstreams not in
   *     it are named by their address
   */
  public Route(RouteConfig config, ManagedChannel channel, Map<String, String> namesByAddress) {
    this(config, channel, namesByAddress, new RouteOutliers());
  }

  /** @param outliers the outlier state the channel's avoidance policy keeps ({@link AvoidanceLoadBalancerProvider#OUTLIERS}) */
  public Route(RouteConfig config, ManagedChannel channel, Map<String, String> namesByAddress,
      RouteOutliers outliers) {
    this(config, channel, namesByAddress, outliers, String::valueOf, () -> { });
  }

  /**
   * @param otherNames names the upstreams at addresses other than IP sockets (the in-process
   *     addresses of OpenAI-compatible upstreams)
   * @param resources closed after the channel (the OpenAI-compatible upstreams' servers)
   */
  public Route(RouteConfig config, ManagedChannel channel, Map<String, String> namesByAddress,
      RouteOutliers outliers, Function<SocketAddress, String> otherNames, AutoCloseable resources) {
    this(config, channel, namesByAddress, outliers, otherNames, resources, new NameRefresh());
  }

  /** @param names the channel's name resolvers, to look up again on demand */
  public Route(RouteConfig config, ManagedChannel channel, Map<String, String> namesByAddress,
      RouteOutliers outliers, Function<SocketAddress, String> otherNames, AutoCloseable resources,
      NameRefresh names) {
    this.config = Objects.requireNonNull(config, "config");
    this.channel = Objects.requireNonNull(channel, "channel");
    this.namesByAddress = Map.copyOf(namesByAddress);
    this.outliers = Objects.requireNonNull(outliers, "outliers");
    this.otherNames = Objects.requireNonNull(otherNames, "otherNames");
    this.resources = Objects.requireNonNull(resources, "resources");
    this.names = Objects.requireNonNull(names, "names");
    this.prefixHasher = config.lb() == LbPolicy.PREFIX_AFFINITY
        ? new PromptPrefixHasher(config.balancing().prefixChars(), config.balancing().tenantAware()) : null;
  }

  /** Asks the channel's name resolvers to look the upstreams up again now (after a reload). */
  public void refreshNames() {
    names.refresh();
  }

  /**
   * The call options of an upstream call for {@code request} from {@code tenant}: with the request's
   * {@link AffinityKey} where the route balances by prefix.
   */
  public CallOptions withAffinity(CallOptions options, CompletionRequest request, @Nullable String tenant) {
    return prefixHasher == null ? options
        : options.withOption(AffinityKey.CALL_OPTION, prefixHasher.keyOf(request, tenant));
  }

  /** Closes what the route holds besides its channel; after the channel has shut down. */
  void closeResources() {
    try {
      resources.close();
    } catch (Exception e) {
      // Closing: nothing left to do with it.
    }
  }

  public String name() {
    return config.name();
  }

  public RouteConfig config() {
    return config;
  }

  public ManagedChannel channel() {
    return channel;
  }

  /** The route's outlier state, as its channel's avoidance policy keeps it; read-only. */
  public RouteOutliers outliers() {
    return outliers;
  }

  /**
   * Whether a call that failed on one upstream may find another here: false for a route with a
   * single configured upstream, true for several or for a DNS target (which may resolve to more).
   */
  public boolean hasAlternatives() {
    return namesByAddress.size() != 1;
  }

  /** The name reported in {@code llmproxy-upstream} for the upstream at {@code address}. */
  public String upstreamName(SocketAddress address) {
    if (address == null) {
      return "unknown";
    }
    return nameCache.computeIfAbsent(address, this::lookUpName);
  }

  private String lookUpName(SocketAddress address) {
    if (!(address instanceof InetSocketAddress inet)) {
      return otherNames.apply(address);
    }
    String host = inet.getHostString();
    String hostPort = (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + inet.getPort();
    return namesByAddress.getOrDefault(hostPort, hostPort);
  }
}
