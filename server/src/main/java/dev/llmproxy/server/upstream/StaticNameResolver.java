package dev.llmproxy.server.upstream;

import static com.google.common.base.Preconditions.checkState;
import static java.util.Objects.requireNonNull;

import io.grpc.EquivalentAddressGroup;
import io.grpc.NameResolver;
import io.grpc.Status;
import io.grpc.StatusOr;
import io.grpc.SynchronizationContext;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;

/**
 * Resolves a fixed list of backends, each into its own {@link EquivalentAddressGroup} (a host name
 * with several addresses is one backend with several addresses, tried in order by its pick_first
 * child). Look-ups run on the channel's offload executor; {@link #refresh()} repeats them, which is
 * how a host name that moved to a new address is picked up.
 *
 * <p>Resolution is all or nothing: if any backend fails to resolve, the listener gets an
 * UNAVAILABLE status naming it. The channel then keeps the addresses it already had and
 * re-resolves with back-off. Silently serving from a shorter list would hide a shrunk pool behind
 * "working".
 *
 * <p>All methods except the look-up itself run in the channel's {@link SynchronizationContext}.
 */
final class StaticNameResolver extends NameResolver {

  /** Looks up the addresses of one host. Blocking; never called on the channel's threads. */
  @FunctionalInterface
  interface HostResolver {
    HostResolver SYSTEM = host -> Arrays.asList(InetAddress.getAllByName(host));

    List<InetAddress> resolve(String host) throws UnknownHostException;
  }

  private final String target;
  private final String authority;
  private final List<HostPort> backends;
  private final HostResolver hostResolver;
  private final SynchronizationContext syncContext;
  private final Executor offloadExecutor;

  private Listener2 listener;
  private boolean resolving;
  private boolean shutdown;

  StaticNameResolver(String target, String authority, List<HostPort> backends,
      HostResolver hostResolver, SynchronizationContext syncContext, Executor offloadExecutor) {
    this.target = requireNonNull(target, "target");
    this.authority = requireNonNull(authority, "authority");
    this.backends = List.copyOf(backends);
    this.hostResolver = requireNonNull(hostResolver, "hostResolver");
    this.syncContext = requireNonNull(syncContext, "syncContext");
    this.offloadExecutor = requireNonNull(offloadExecutor, "offloadExecutor");
  }

  @Override
  public String getServiceAuthority() {
    return authority;
  }

  @Override
  public void start(Listener2 listener) {
    checkState(this.listener == null, "already started");
    this.listener = requireNonNull(listener, "listener");
    resolve();
  }

  @Override
  public void refresh() {
    checkState(listener != null, "not started");
    resolve();
  }

  @Override
  public void shutdown() {
    shutdown = true;
  }

  private void resolve() {
    if (resolving || shutdown) {
      return; // a look-up in flight will deliver fresh addresses anyway
    }
    resolving = true;
    try {
      offloadExecutor.execute(() -> {
        StatusOr<List<EquivalentAddressGroup>> result = lookUp();
        syncContext.execute(() -> deliver(result));
      });
    } catch (RejectedExecutionException e) {
      deliver(StatusOr.fromStatus(Status.UNAVAILABLE.withCause(e)
          .withDescription("static resolver for " + target + " could not schedule a look-up")));
    }
  }

  private void deliver(StatusOr<List<EquivalentAddressGroup>> result) {
    resolving = false;
    if (shutdown) {
      return;
    }
    listener.onResult2(ResolutionResult.newBuilder().setAddressesOrError(result).build());
  }

  private StatusOr<List<EquivalentAddressGroup>> lookUp() {
    List<EquivalentAddressGroup> groups = new ArrayList<>(backends.size());
    List<String> failures = new ArrayList<>();
    Throwable firstCause = null;
    for (HostPort backend : backends) {
      try {
        List<InetAddress> addresses = hostResolver.resolve(backend.host());
        if (addresses.isEmpty()) {
          failures.add(backend + " (no addresses)");
          continue;
        }
        List<SocketAddress> socketAddresses = new ArrayList<>(addresses.size());
        for (InetAddress address : addresses) {
          socketAddresses.add(new InetSocketAddress(address, backend.port()));
        }
        groups.add(new EquivalentAddressGroup(socketAddresses));
      } catch (UnknownHostException | RuntimeException e) {
        failures.add(backend + " (" + e.getClass().getSimpleName() + ": " + e.getMessage() + ")");
        firstCause = firstCause == null ? e : firstCause;
      }
    }
    if (!failures.isEmpty()) {
      return StatusOr.fromStatus(Status.UNAVAILABLE.withCause(firstCause).withDescription(
          "static resolver could not resolve " + String.join(", ", failures) + " of " + target));
    }
    return StatusOr.fromValue(groups);
  }

  @Override
  public String toString() {
    return "StaticNameResolver{" + target + "}";
  }
}
