package dev.llmproxy.server.config;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The fallback graph of a config's routes: each route's {@code fallbacks} name other routes, whose
 * own fallbacks follow theirs. Checked as a whole (every name a route, no route reachable from
 * itself), and flattened into the order a call tries routes in.
 */
public final class RouteFallbacks {
  private RouteFallbacks() {}

  /** Fails with the path of the first fallback that names no route, the route itself, or closes a cycle. */
  static void validate(List<RouteConfig> routes) {
    Map<String, Integer> index = new HashMap<>();
    for (int i = 0; i < routes.size(); i++) {
      index.put(routes.get(i).name(), i);
    }
    for (int i = 0; i < routes.size(); i++) {
      RouteConfig route = routes.get(i);
      Set<String> seen = new LinkedHashSet<>();
      for (int j = 0; j < route.fallbacks().size(); j++) {
        String name = route.fallbacks().get(j);
        String path = "routes[" + i + "].fallbacks[" + j + "]";
        if (name.equals(route.name())) {
          throw ConfigException.invalid(path, name, "another route: a route cannot fall back to itself");
        }
        if (!index.containsKey(name)) {
          throw ConfigException.invalid(path, name, "the name of a route in routes");
        }
        if (!seen.add(name)) {
          throw ConfigException.invalid(path, name, "each fallback once");
        }
      }
    }
    for (int i = 0; i < routes.size(); i++) {
      List<String> cycle = cycleFrom(routes.get(i).name(), routes, index, new ArrayList<>());
      if (cycle != null) {
        RouteConfig route = routes.get(i);
        int j = route.fallbacks().indexOf(cycle.get(1));
        throw ConfigException.invalid("routes[" + i + "].fallbacks[" + j + "]", cycle.get(1),
            "no cycle of fallbacks: " + String.join(" -> ", cycle));
      }
    }
  }

  /** The cycle back to {@code path}'s first route through {@code name}, or null. */
  private static List<String> cycleFrom(String name, List<RouteConfig> routes, Map<String, Integer> index,
      List<String> path) {
    if (!path.isEmpty() && name.equals(path.get(0))) {
      List<String> cycle = new ArrayList<>(path);
      cycle.add(name);
      return cycle;
    }
    if (path.contains(name)) {
      return null; // a cycle that does not pass through the start: reported from its own routes
    }
    path.add(name);
    for (String next : routes.get(index.get(name)).fallbacks()) {
      List<String> cycle = cycleFrom(next, routes, index, path);
      if (cycle != null) {
        return cycle;
      }
    }
    path.remove(path.size() - 1);
    return null;
  }

  /**
   * The routes a call to {@code start} may be served by, in the order they are tried: {@code start},
   * then each fallback followed by its own fallbacks (depth first), each route once.
   */
  public static List<String> order(String start, Map<String, List<String>> fallbacksByRoute) {
    Set<String> order = new LinkedHashSet<>();
    visit(start, fallbacksByRoute, order);
    return List.copyOf(order);
  }

  private static void visit(String route, Map<String, List<String>> fallbacksByRoute, Set<String> order) {
    if (!order.add(route)) {
      return;
    }
    for (String next : fallbacksByRoute.getOrDefault(route, List.of())) {
      visit(next, fallbacksByRoute, order);
    }
  }
}
