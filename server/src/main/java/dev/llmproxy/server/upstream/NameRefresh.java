package dev.llmproxy.server.upstream;

import io.grpc.NameResolver;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A route's handle on the name resolvers of its channel, so that the proxy can ask for a fresh
 * look-up on demand (after a config reload) as well as on the resolvers' own interval. grpc's
 * {@code ManagedChannel} has no public way to do that. Resolvers find it among their
 * {@link NameResolver.Args} under {@link #KEY}.
 */
public final class NameRefresh {
  public static final NameResolver.Args.Key<NameRefresh> KEY = NameResolver.Args.Key.create("llmproxy-name-refresh");

  private final List<Runnable> resolvers = new CopyOnWriteArrayList<>();

  /** Adds a resolver's refresh (which must hop to its synchronization context itself). */
  public void register(Runnable refresh) {
    resolvers.add(refresh);
  }

  public void unregister(Runnable refresh) {
    resolvers.remove(refresh);
  }

  /** Asks every registered resolver to look its names up again now. */
  public void refresh() {
    resolvers.forEach(Runnable::run);
  }
}
