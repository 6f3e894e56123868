package dev.llmproxy.server.config;

import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * A client-facing model name served by several routes by weight (a canary: 95 to the current
 * version, 5 to the next).
 *
 * @param model the name clients ask for; no route lists it in its {@code models}
 * @param sticky how a call picks its share: {@link Sticky#NONE} at random per call, {@link
 *     Sticky#API_KEY} by a hash of the caller's key id, so one caller stays on one route
 * @param routes the routes and their weights, in the configured order
 */
public record ModelSplit(String model, Sticky sticky, List<Share> routes) {
  public static final int MAX_WEIGHT = 1_000_000;

  /** How a call is assigned its share. */
  public enum Sticky { NONE, API_KEY }

  /** One route of a split and its weight (relative to the others'). */
  public record Share(String route, int weight) {
    public Share {
      Objects.requireNonNull(route, "route");
      if (weight < 1 || weight > MAX_WEIGHT) {
        throw new IllegalArgumentException("weight: " + weight + " (expected: 1.." + MAX_WEIGHT + ")");
      }
    }
  }

  public ModelSplit {
    Objects.requireNonNull(model, "model");
    Objects.requireNonNull(sticky, "sticky");
    routes = List.copyOf(routes);
    if (routes.isEmpty()) {
      throw new IllegalArgumentException("routes: empty (expected: at least one route)");
    }
  }

  static ModelSplit from(ConfigNode node) {
    String model = node.requiredString("model");
    if (model.equals(RouteConfig.ANY_MODEL)) {
      throw ConfigException.invalid(node.pathOf("model"), model, "a model name, not \"*\"");
    }
    Sticky sticky = node.enumValue("sticky", Sticky.NONE, Sticky.class);
    List<ConfigNode> items = node.nodes("routes");
    if (items.isEmpty()) {
      throw ConfigException.invalid(node.pathOf("routes"), null, "a list of {route: NAME, weight: N}");
    }
    Set<String> seen = new HashSet<>();
    List<Share> shares = items.stream().map(item -> {
      String route = item.requiredString("route");
      if (!seen.add(route)) {
        throw ConfigException.invalid(item.pathOf("route"), route, "each route once in a split");
      }
      int weight = item.integer("weight", 1, 1, MAX_WEIGHT);
      item.rejectUnknownKeys();
      return new Share(route, weight);
    }).toList();
    node.rejectUnknownKeys();
    return new ModelSplit(model, sticky, shares);
  }
}
