package dev.llmproxy.server.config;

import dev.llmproxy.server.auth.ApiKeyConfig;
import dev.llmproxy.server.auth.AuthConfig;
import dev.llmproxy.server.quota.QuotaConfig;
import dev.llmproxy.server.quota.QuotaLimits;
import dev.llmproxy.server.quota.QuotaStoreType;
import dev.llmproxy.server.quota.TierConfig;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * The whole proxy configuration: immutable, validated as a whole when built.
 *
 * @param cache the response cache
 * @param auth API keys and anonymous access; {@code null}: no key is required and nobody is limited
 * @param quota where quotas are counted and the tiers keys refer to
 * @param observability metrics endpoint, access log and channelz
 * @param splits model names served by several routes by weight
 */
public record ProxyConfig(ServerConfig server, List<RouteConfig> routes, CacheConfig cache, AuthConfig auth,
    QuotaConfig quota, ObservabilityConfig observability, AdminConfig admin, List<ModelSplit> splits) {
  /** The model name the demo's route serves (as does an empty model). */
  public static final String DEMO_MODEL = "sim";
  /** The demo's API key, limited to {@link #DEMO_KEY_REQUESTS_PER_MINUTE}. */
  public static final String DEMO_KEY = "demo-key";
  public static final int DEMO_KEY_REQUESTS_PER_MINUTE = 10;

  public ProxyConfig {
    routes = List.copyOf(routes);
    splits = List.copyOf(splits);
    validateRoutes(routes);
    RouteFallbacks.validate(routes);
    validateSplits(splits, routes);
    Objects.requireNonNull(cache, "cache");
    Objects.requireNonNull(quota, "quota");
    Objects.requireNonNull(observability, "observability");
    Objects.requireNonNull(admin, "admin");
    if (admin.enabled() && !observability.metrics().enabled()) {
      throw ConfigException.invalid("admin.enabled", true,
          "observability.metrics on: the admin endpoint is served on the metrics port");
    }
    validateTiers(auth, quota);
    validateKeyModels(auth, routes, splits);
    if (auth != null && server.forwardHeaders().contains(auth.header())) {
      throw ConfigException.invalid("server.forward_headers", auth.header(),
          "no credential header: auth.header carries API keys, which never go upstream");
    }
  }

  /** A config without splits. */
  public ProxyConfig(ServerConfig server, List<RouteConfig> routes, CacheConfig cache, AuthConfig auth,
      QuotaConfig quota, ObservabilityConfig observability, AdminConfig admin) {
    this(server, routes, cache, auth, quota, observability, admin, List.of());
  }

  /**
   * Only a listener and routes: the default cache; no API keys (every caller anonymous and
   * unlimited); observability off (no metrics port, no access log, no channelz).
   */
  public ProxyConfig(ServerConfig server, List<RouteConfig> routes, CacheConfig cache, AuthConfig auth,
      QuotaConfig quota, ObservabilityConfig observability) {
    this(server, routes, cache, auth, quota, observability, AdminConfig.disabled());
  }

  public ProxyConfig(ServerConfig server, List<RouteConfig> routes) {
    this(server, routes, CacheConfig.defaults(), null, QuotaConfig.defaults(), ObservabilityConfig.defaults());
  }

  /**
   * The demo: three simulated upstreams behind one default route, model {@code sim}, balanced by
   * least_outstanding. Other model names get NOT_FOUND, as they would in production.
   */
  public static ProxyConfig demo() {
    RouteConfig route = RouteConfig.forSimulated(new SimulatedUpstreams(3, java.time.Duration.ofMillis(150),
        java.time.Duration.ofMillis(25), java.time.Duration.ofMillis(5), 0), LbPolicy.LEAST_OUTSTANDING);
    return new ProxyConfig(ServerConfig.defaults(), List.of(route.withModels(List.of(DEMO_MODEL))))
        .withAccess(demoAuth(), demoQuota());
  }

  /**
   * The demo's access rules: callers without a key are served by a generous anonymous tier, and
   * {@value #DEMO_KEY} (given in the plaintext development form) is held to
   * {@value #DEMO_KEY_REQUESTS_PER_MINUTE} requests per minute.
   */
  static AuthConfig demoAuth() {
    return new AuthConfig(AuthConfig.DEFAULT_HEADER,
        List.of(ApiKeyConfig.plaintextDevOnly("demo", DEMO_KEY, "demo", List.of())), "free");
  }

  static QuotaConfig demoQuota() {
    Duration minute = Duration.ofMinutes(1);
    return new QuotaConfig(QuotaStoreType.MEMORY, QuotaConfig.defaults().redis(), List.of(
        new TierConfig("free", new QuotaLimits(minute, 600, 1_000_000, 64)),
        new TierConfig("demo", new QuotaLimits(minute, DEMO_KEY_REQUESTS_PER_MINUTE, 0, 4))));
  }

  public ProxyConfig withServer(ServerConfig server) {
    return new ProxyConfig(server, routes, cache, auth, quota, observability, admin, splits);
  }

  public ProxyConfig withRoutes(List<RouteConfig> routes) {
    return new ProxyConfig(server, routes, cache, auth, quota, observability, admin, splits);
  }

  public ProxyConfig withCache(CacheConfig cache) {
    return new ProxyConfig(server, routes, cache, auth, quota, observability, admin, splits);
  }

  /** This config with other API keys ({@code null}: none required) and quotas. */
  public ProxyConfig withAccess(AuthConfig auth, QuotaConfig quota) {
    return new ProxyConfig(server, routes, cache, auth, quota, observability, admin, splits);
  }

  public ProxyConfig withObservability(ObservabilityConfig observability) {
    return new ProxyConfig(server, routes, cache, auth, quota, observability, admin, splits);
  }

  /** Other routes and splits at once (a split names routes, so the two change together). */
  public ProxyConfig withRoutes(List<RouteConfig> routes, List<ModelSplit> splits) {
    return new ProxyConfig(server, routes, cache, auth, quota, observability, admin, splits);
  }

  public ProxyConfig withSplits(List<ModelSplit> splits) {
    return new ProxyConfig(server, routes, cache, auth, quota, observability, admin, splits);
  }

  public ProxyConfig withAdmin(AdminConfig admin) {
    return new ProxyConfig(server, routes, cache, auth, quota, observability, admin, splits);
  }

  static ProxyConfig from(ConfigNode root) {
    ServerConfig server = ServerConfig.from(root.child("server"));
    List<RouteConfig> routes = root.nodes("routes").stream().map(RouteConfig::from).toList();
    if (routes.isEmpty()) {
      throw ConfigException.invalid("routes", null, "at least one route");
    }
    CacheConfig cache = CacheConfig.from(root.child("cache"));
    for (String route : cache.routes().keySet()) {
      if (routes.stream().noneMatch(r -> r.name().equals(route))) {
        throw ConfigException.invalid("cache.routes." + route, route, "the name of a route in routes");
      }
    }
    AuthConfig auth = root.has("auth") ? AuthConfig.from(root.child("auth")) : null;
    QuotaConfig quota = QuotaConfig.from(root.child("quota"));
    ObservabilityConfig observability = ObservabilityConfig.from(root.child("observability"));
    AdminConfig admin = AdminConfig.from(root.child("admin"));
    List<ModelSplit> splits = root.nodes("splits").stream().map(ModelSplit::from).toList();
    root.rejectUnknownKeys();
    return new ProxyConfig(server, routes, cache, auth, quota, observability, admin, splits);
  }

  private static void validateTiers(AuthConfig auth, QuotaConfig quota) {
    if (auth == null) {
      if (!quota.tiers().isEmpty()) {
        throw ConfigException.invalid("quota.tiers", tierNames(quota).toString(),
            "an auth section whose keys or anonymous_tier use them; without auth nobody is limited");
      }
      return;
    }
    if (auth.anonymousTier() != null && quota.tier(auth.anonymousTier()).isEmpty()) {
      throw ConfigException.invalid("auth.anonymous_tier", auth.anonymousTier(),
          "a tier defined under quota.tiers " + tierNames(quota));
    }
    for (int i = 0; i < auth.keys().size(); i++) {
      String tier = auth.keys().get(i).tier();
      if (tier != null && quota.tier(tier).isEmpty()) {
        throw ConfigException.invalid("auth.keys[" + i + "].tier", tier,
            "a tier defined under quota.tiers " + tierNames(quota));
      }
    }
  }

  /** A key may only be limited to models some route serves: a typo would lock it out silently. */
  private static void validateKeyModels(AuthConfig auth, List<RouteConfig> routes, List<ModelSplit> splits) {
    if (auth == null || routes.stream().anyMatch(r -> r.models().contains(RouteConfig.ANY_MODEL))) {
      return;
    }
    Set<String> served = new java.util.TreeSet<>();
    routes.forEach(r -> served.addAll(r.models()));
    splits.forEach(split -> served.add(split.model()));
    for (int i = 0; i < auth.keys().size(); i++) {
      List<String> models = auth.keys().get(i).models();
      for (int j = 0; j < models.size(); j++) {
        if (!served.contains(models.get(j))) {
          throw ConfigException.invalid("auth.keys[" + i + "].models[" + j + "]", models.get(j),
              "a model that a route serves: one of " + served);
        }
      }
    }
  }

  /** A split's model is its own name (no route serves it, no other split), over routes that exist. */
  private static void validateSplits(List<ModelSplit> splits, List<RouteConfig> routes) {
    Map<String, String> modelOwner = new HashMap<>();
    Set<String> routeNames = new HashSet<>();
    for (RouteConfig r : routes) {
      routeNames.add(r.name());
      r.models().forEach(model -> modelOwner.putIfAbsent(model, "route '" + r.name() + "'"));
    }
    for (int i = 0; i < splits.size(); i++) {
      ModelSplit split = splits.get(i);
      String owner = modelOwner.putIfAbsent(split.model(), "splits[" + i + "]");
      if (owner != null) {
        throw ConfigException.invalid("splits[" + i + "].model", split.model(),
            "a model no route or other split serves; " + owner + " already serves it");
      }
      for (int j = 0; j < split.routes().size(); j++) {
        String route = split.routes().get(j).route();
        if (!routeNames.contains(route)) {
          throw ConfigException.invalid("splits[" + i + "].routes[" + j + "].route", route,
              "the name of a route in routes");
        }
      }
    }
  }

  private static List<String> tierNames(QuotaConfig quota) {
    return quota.tiers().stream().map(TierConfig::name).toList();
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
