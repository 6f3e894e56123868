package dev.llmproxy.server.upstream;

import static java.util.Objects.requireNonNull;

import io.grpc.EquivalentAddressGroup;
import io.grpc.NameResolver;
import io.grpc.Status;
import io.grpc.StatusOr;
import io.grpc.SynchronizationContext;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;

/**
 * Resolves a {@code dns:///host:port} target of a gRPC route into one address group per address,
 * as grpc's own DNS resolver does (each address of a headless Service is one engine), but looks
 * the name up again every {@code interval} and whenever {@link NameRefresh} asks, not only when a
 * connection fails: engines added behind the name get calls within one interval, and the channel
 * drains engines that left (their calls in flight finish; no new call goes to them).
 *
 * <p>A failed look-up after a good one keeps the addresses the channel has (grpc's behaviour on a
 * resolution error) and tries again on the next tick. The JVM caches look-ups for
 * {@code networkaddress.cache.ttl} (30 s unless set), which bounds how fresh an answer can be.
 * All methods except the look-up run in the channel's {@link SynchronizationContext}.
 */
final class PeriodicDnsNameResolver extends NameResolver {
  private final String target;
  private final HostPort hostPort;
  private final Duration interval;
  private final StaticNameResolver.HostResolver hostResolver;
  private final SynchronizationContext sync;
  private final Executor offload;
  private final ScheduledExecutorService scheduler;
  private final NameRefresh refresh;
  private final Runnable onDemand = this::refreshFromAnyThread;

  private Listener2 listener;
  private SynchronizationContext.ScheduledHandle next;
  private boolean resolving;
  private boolean shutdown;

  PeriodicDnsNameResolver(String target, HostPort hostPort, Duration interval,
      StaticNameResolver.HostResolver hostResolver, Args args, NameRefresh refresh) {
    this.target = requireNonNull(target, "target");
    this.hostPort = requireNonNull(hostPort, "hostPort");
    this.interval = requireNonNull(interval, "interval");
    this.hostResolver = requireNonNull(hostResolver, "hostResolver");
    this.sync = args.getSynchronizationContext();
    this.offload = args.getOffloadExecutor();
    this.scheduler = args.getScheduledExecutorService();
    this.refresh = refresh;
  }

  @Override
  public String getServiceAuthority() {
    return hostPort.toString();
  }

  @Override
  public void start(Listener2 listener) {
    this.listener = requireNonNull(listener, "listener");
    if (refresh != null) {
      refresh.register(onDemand);
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
    if (next != null) {
      next.cancel();
    }
    if (refresh != null) {
      refresh.unregister(onDemand);
    }
  }

  private void resolve() {
    if (resolving || shutdown) {
      return;
    }
    resolving = true;
    if (next != null) {
      next.cancel(); // the tick after this look-up is scheduled when it delivers
      next = null;
    }
    try {
      offload.execute(() -> {
        StatusOr<List<EquivalentAddressGroup>> result = lookUp();
        sync.execute(() -> deliver(result));
      });
    } catch (RejectedExecutionException e) {
      resolving = false;
    }
  }

  private void deliver(StatusOr<List<EquivalentAddressGroup>> result) {
    resolving = false;
    if (shutdown) {
      return;
    }
    listener.onResult2(ResolutionResult.newBuilder().setAddressesOrError(result).build());
    next = sync.schedule(this::resolve, interval.toNanos(), java.util.concurrent.TimeUnit.NANOSECONDS, scheduler);
  }

  private StatusOr<List<EquivalentAddressGroup>> lookUp() {
    try {
      List<InetAddress> addresses = hostResolver.resolve(hostPort.host());
      if (addresses.isEmpty()) {
        return StatusOr.fromStatus(Status.UNAVAILABLE.withDescription(target + ": no addresses"));
      }
      List<EquivalentAddressGroup> groups = new ArrayList<>(addresses.size());
      for (InetAddress address : addresses) {
        groups.add(new EquivalentAddressGroup(new InetSocketAddress(address, hostPort.port())));
      }
      return StatusOr.fromValue(groups);
    } catch (UnknownHostException | RuntimeException e) {
      return StatusOr.fromStatus(Status.UNAVAILABLE.withCause(e)
          .withDescription(target + ": " + e.getClass().getSimpleName() + ": " + e.getMessage()));
    }
  }

  @Override
  public String toString() {
    return "PeriodicDnsNameResolver{" + target + " every " + interval + "}";
  }
}
