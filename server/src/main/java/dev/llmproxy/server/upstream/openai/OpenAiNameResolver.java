package dev.llmproxy.server.upstream.openai;

import dev.llmproxy.server.config.RouteConfig;
import io.grpc.EquivalentAddressGroup;
import io.grpc.NameResolver;
import io.grpc.Status;
import io.grpc.StatusOr;
import io.grpc.SynchronizationContext;
import java.net.InetAddress;
import java.net.SocketAddress;
import java.net.UnknownHostException;
import dev.llmproxy.server.upstream.NameRefresh;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * Resolves the upstreams of one OpenAI-compatible route, each into its own address group: the
 * configured URLs as they are (the HTTP client looks their host names up itself, and TLS checks the
 * name), or, for a {@code dns:///host:port} target, one upstream per address the name has now
 * ({@code scheme://address:port}), looked up again every {@code refresh} and whenever the channel
 * asks, so that engines added behind a headless Service get calls and removed ones are let go.
 */
final class OpenAiNameResolver extends NameResolver {
  private final OpenAiUpstreams upstreams;
  private final RouteConfig route;
  private final SynchronizationContext sync;
  private final Executor offload;
  private final Duration refresh;
  private Listener2 listener;
  private boolean resolving;
  private boolean shutdown;
  private ScheduledFuture<?> nextRefresh;
  private final NameRefresh onDemand;
  private final Runnable refreshNow = this::refreshFromAnyThread;

  /** @param onDemand where the proxy asks for a look-up now (after a reload); null: none */
  OpenAiNameResolver(OpenAiUpstreams upstreams, SynchronizationContext sync, Executor offload, Duration refresh,
      NameRefresh onDemand) {
    this.upstreams = upstreams;
    this.route = upstreams.route();
    this.sync = sync;
    this.offload = offload != null ? offload : Runnable::run;
    this.refresh = refresh;
    this.onDemand = onDemand;
  }

  @Override
  public String getServiceAuthority() {
    return route.name();
  }

  @Override
  public void start(Listener2 listener) {
    this.listener = listener;
    if (onDemand != null) {
      onDemand.register(refreshNow);
    }
    resolve();
  }

  @Override
  public void refresh() {
    resolve();
  }

  private void refreshFromAnyThread() {
    sync.execute(this::resolve);
  }

  @Override
  public void shutdown() {
    shutdown = true;
    if (nextRefresh != null) {
      nextRefresh.cancel(false);
    }
    if (onDemand != null) {
      onDemand.unregister(refreshNow);
    }
  }

  private void resolve() {
    if (shutdown || resolving) {
      return;
    }
    if (route.target() == null) {
      deliver(StatusOr.fromValue(groups(upstreams.staticAddresses())));
      return;
    }
    resolving = true;
    try {
      offload.execute(() -> {
        StatusOr<List<EquivalentAddressGroup>> result = lookUp();
        sync.execute(() -> {
          resolving = false;
          deliver(result);
          scheduleRefresh();
        });
      });
    } catch (RejectedExecutionException e) {
      resolving = false;
    }
  }

  private StatusOr<List<EquivalentAddressGroup>> lookUp() {
    String hostPort = route.target().substring("dns:///".length());
    int colon = hostPort.lastIndexOf(':');
    String host = hostPort.substring(0, colon);
    String port = hostPort.substring(colon + 1);
    if (host.startsWith("[") && host.endsWith("]")) {
      host = host.substring(1, host.length() - 1);
    }
    try {
      InetAddress[] addresses = InetAddress.getAllByName(host);
      Set<String> urls = new LinkedHashSet<>();
      List<SocketAddress> found = new ArrayList<>();
      for (InetAddress address : addresses) {
        String literal = address.getHostAddress();
        String hostLiteral = literal.indexOf(':') >= 0 ? "[" + literal + "]" : literal;
        String url = upstreams.settings().scheme() + "://" + hostLiteral + ":" + port + upstreams.settings().basePath();
        if (urls.add(url)) {
          found.add(upstreams.upstream(hostLiteral + ":" + port, url).address());
        }
      }
      upstreams.retainOnly(urls);
      return StatusOr.fromValue(groups(found));
    } catch (UnknownHostException | RuntimeException e) {
      return StatusOr.fromStatus(Status.UNAVAILABLE.withCause(e)
          .withDescription("route " + route.name() + ": could not resolve " + route.target()));
    }
  }

  private void deliver(StatusOr<List<EquivalentAddressGroup>> result) {
    if (!shutdown) {
      listener.onResult2(ResolutionResult.newBuilder().setAddressesOrError(result).build());
    }
  }

  private void scheduleRefresh() {
    if (shutdown) {
      return;
    }
    if (nextRefresh != null) {
      nextRefresh.cancel(false);
    }
    try {
      nextRefresh = upstreams.scheduler().schedule(() -> sync.execute(this::resolve), refresh.toNanos(),
          TimeUnit.NANOSECONDS);
    } catch (RejectedExecutionException closing) {
      // the route is closing
    }
  }

  private static List<EquivalentAddressGroup> groups(List<SocketAddress> addresses) {
    List<EquivalentAddressGroup> groups = new ArrayList<>(addresses.size());
    for (SocketAddress address : addresses) {
      groups.add(new EquivalentAddressGroup(address));
    }
    return groups;
  }
}
