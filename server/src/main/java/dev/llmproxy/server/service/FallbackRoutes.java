package dev.llmproxy.server.service;

import dev.llmproxy.server.upstream.Route;
import java.util.List;

/**
 * The routes a call may still move to, in the order they are tried, when the route it is on cannot
 * take it: the serving route's fallbacks, then theirs (see {@code RouteFallbacks.order}).
 */
public record FallbackRoutes(List<Route> routes) {
  public static final FallbackRoutes NONE = new FallbackRoutes(List.of());

  public FallbackRoutes {
    routes = List.copyOf(routes);
  }

  /** What is left once the call moved to {@code routes().get(index)}. */
  public FallbackRoutes after(int index) {
    return new FallbackRoutes(routes.subList(index + 1, routes.size()));
  }

  public boolean isEmpty() {
    return routes.isEmpty();
  }
}
