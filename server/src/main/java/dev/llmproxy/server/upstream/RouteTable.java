package dev.llmproxy.server.upstream;

import dev.llmproxy.server.config.ModelSplit;
import dev.llmproxy.server.config.RouteConfig;
import dev.llmproxy.server.config.RouteFallbacks;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * Resolves a request's model to its route; knows each route's fallbacks and the split models (whose
 * route the routing stage chooses); owns the routes' channels.
 */
public final class RouteTable implements AutoCloseable {
  private final List<Route> routes;
  private final List<ModelSplit> splits;
  private final Map<String, Route> byName = new HashMap<>();
  private final Map<Route, List<Route>> fallbacks = new HashMap<>();
  private final Map<String, Route> byModel = new HashMap<>();
  private final Route defaultRoute;
  private final Route anyModel;
  private final String modelNames;

  public RouteTable(List<Route> routes) {
    this(routes, List.of());
  }

  /** @param splits model names served by several of {@code routes} (checked by the config) */
  public RouteTable(List<Route> routes, List<ModelSplit> splits) {
    this.routes = List.copyOf(routes);
    this.splits = List.copyOf(splits);
    Map<String, List<String>> fallbackNames = new HashMap<>();
    for (Route route : this.routes) {
      byName.put(route.name(), route);
      fallbackNames.put(route.name(), route.config().fallbacks());
    }
    for (Route route : this.routes) {
      List<String> order = RouteFallbacks.order(route.name(), fallbackNames);
      // List.copyOf (not Stream.toList, which allows nulls): a copy of it is the list itself, so
      // the per-call FallbackRoutes holding it copies nothing.
      fallbacks.put(route, List.copyOf(order.subList(1, order.size()).stream().map(byName::get).toList()));
    }
    Route def = null;
    Route any = null;
    List<String> names = new ArrayList<>();
    for (Route route : this.routes) {
      if (route.config().isDefault()) {
        def = route;
      }
      for (String model : route.config().models()) {
        if (model.equals(RouteConfig.ANY_MODEL)) {
          any = route;
        } else {
          byModel.put(model, route);
          names.add(model);
        }
      }
    }
    this.splits.forEach(split -> names.add(split.model()));
    this.defaultRoute = def;
    this.anyModel = any;
    this.modelNames = names.isEmpty() ? "(no named models)" : String.join(", ", names);
  }

  /**
   * The route for {@code model}; {@code null} if none serves it. Empty means the default route. A
   * split model is not resolved here: the routing stage chooses among its routes.
   */
  public Route resolve(String model) {
    if (model.isEmpty()) {
      return defaultRoute;
    }
    Route route = byModel.get(model);
    return route != null ? route : anyModel;
  }

  public List<Route> routes() {
    return routes;
  }

  /** The route named {@code name}, or {@code null}. */
  public Route route(String name) {
    return byName.get(name);
  }

  /** The routes a call to {@code route} falls back to, in the order they are tried (its own not included). */
  public List<Route> fallbacks(Route route) {
    return fallbacks.getOrDefault(route, List.of());
  }

  /** The models served by several routes by weight. */
  public List<ModelSplit> splits() {
    return splits;
  }

  /** The configured model names, for error messages. */
  public String modelNames() {
    return modelNames;
  }

  /** Shuts every channel down, waiting up to {@code timeoutMillis} in all. */
  public void close(long timeoutMillis) throws InterruptedException {
    closeExcept(Set.of(), timeoutMillis);
  }

  /**
   * Shuts down the channels of the routes not in {@code kept} (those a newer table shares): calls
   * still on them may finish, for up to {@code timeoutMillis} in all; then they are cut. Blocks.
   */
  public void closeExcept(Set<Route> kept, long timeoutMillis) throws InterruptedException {
    List<Route> closing = routes.stream().filter(route -> !kept.contains(route)).toList();
    for (Route route : closing) {
      route.channel().shutdown();
    }
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
    for (Route route : closing) {
      long left = deadline - System.nanoTime();
      if (left <= 0 || !route.channel().awaitTermination(left, TimeUnit.NANOSECONDS)) {
        route.channel().shutdownNow();
      }
      route.closeResources();
    }
  }

  @Override
  public void close() {
    for (Route route : routes) {
      route.channel().shutdownNow();
      route.closeResources();
    }
  }
}
