package dev.llmproxy.server.config;

import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** The whole proxy configuration: immutable, validated as a whole when built. */
public record ProxyConfig(ServerConfig server, List<RouteConfig> routes, ObservabilityConfig observability) {
  /** The model name the demo's route serves (as does an empty model). */
  public static final String DEMO_MODEL = "sim";

  public ProxyConfig {
    routes = List.copyOf(routes);
    validateRoutes(routes);
    java.util.Objects.requireNonNull(observability, "observability");
  }

  /** A config with observability off (no metrics port, no access log, no channelz). */
  public ProxyConfig(ServerConfig server, List<RouteConfig> routes) {
    this(server, routes, ObservabilityConfig.defaults());
  }

  /**
   * The demo: three simulated upstreams behind one default route, model {@code sim}, balanced by
   * least_outstanding. Other model names get NOT_FOUND, as they would in production.
   */
  public static ProxyConfig demo() {
    RouteConfig route = RouteConfig.forSimulated(new SimulatedUpstreams(3, java.time.Duration.ofMillis(150),
        java.time.Duration.ofMillis(25), java.time.Duration.ofMillis(5), 0), LbPolicy.LEAST_OUTSTANDING);
    return new ProxyConfig(ServerConfig.defaults(), List.of(route.withModels(List.of(DEMO_MODEL))));
  }

  public ProxyConfig withServer(ServerConfig server) {
    return new ProxyConfig(server, routes, observability);
  }

  public ProxyConfig withRoutes(List<RouteConfig> routes) {
    return new ProxyConfig(server, routes, observability);
  }

  public ProxyConfig withObservability(ObservabilityConfig observability) {
    return new ProxyConfig(server, routes, observability);
  }

  static ProxyConfig from(ConfigNode root) {
    ServerConfig server = ServerConfig.from(root.child("server"));
    List<RouteConfig> routes = root.nodes("routes").stream().map(RouteConfig::from).toList();
    if (routes.isEmpty()) {
      throw ConfigException.invalid("routes", null, "at least one route");
    }
    ObservabilityConfig observability = ObservabilityConfig.from(root.child("observability"));
    root.rejectUnknownKeys();
    return new ProxyConfig(server, routes, observability);
  }

  private static void validateRoutes(List<RouteConfig> routes) {
    Set<String> names = new HashSet<>();
    Map<String, String> modelOwner = new HashMap<>();
    String defaultRoute = null;
    for (int i = 0; i < routes.size(); i++) {
      RouteConfig r = routes.get(i);
      if (!names.add(r.name())) {
        throw ConfigException.invalid("routes[" + i + "].name", r.name(), "a name no other route uses");
      }
      if (r.isDefault()) {
        if (defaultRoute != null) {
          throw ConfigException.invalid("routes[" + i + "].default", true,
              "at most one default route; route '" + defaultRoute + "' is already the default");
        }
        defaultRoute = r.name();
      }
      for (String model : r.models()) {
        String owner = modelOwner.putIfAbsent(model, r.name());
        if (owner != null) {
          throw ConfigException.invalid("routes[" + i + "].models", model,
              "a model no other route serves; route '" + owner + "' already serves it");
        }
      }
    }
  }
}
