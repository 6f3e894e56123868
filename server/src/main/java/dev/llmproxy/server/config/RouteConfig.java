package dev.llmproxy.server.config;

import java.util.List;
import java.util.Objects;

/**
 * A route: the models it serves and the pool of upstreams behind one load-balanced channel.
 * Exactly one upstream source is set: a static list, a {@code dns:///} target, or simulated
 * backends started in-process.
 *
 * @param models model names this route serves; {@code "*"} serves every model no other route names
 * @param isDefault whether requests with an empty {@code model} take this route
 * @param flowControlWindow HTTP/2 receive window per upstream stream, in bytes: how much of an
 *     answer the proxy may hold for a client that reads slowly before the upstream is held back
 * @param resilience failover, stall detection, outlier ejection, load shedding, keepalive
 * @param protocol what the upstreams speak
 * @param openai the OpenAI-compatible upstreams' settings; {@code null} for {@code grpc} routes
 * @param balancing settings of the load-balancing policy ({@code peak_ewma}, {@code prefix_affinity})
 * @param fallbacks names of the routes tried, in order, when this route's pool cannot take a call
 * @param upstreamModel the model name sent to this route's upstreams; {@code null}: the one asked for
 */
public record RouteConfig(
    String name,
    List<String> models,
    boolean isDefault,
    List<UpstreamEndpoint> upstreams,
    String target,
    SimulatedUpstreams simulated,
    LbPolicy lb,
    int choiceCount,
    boolean healthCheck,
    int maxTokensLimit,
    int defaultMaxTokens,
    int flowControlWindow,
    TlsClientConfig tls,
    RouteResilience resilience,
    UpstreamProtocol protocol,
    OpenAiSettings openai,
    Balancing balancing,
    List<String> fallbacks,
    String upstreamModel) {

  public static final String ANY_MODEL = "*";
  public static final int DEFAULT_MAX_TOKENS_LIMIT = 4096;
  public static final int DEFAULT_MAX_TOKENS = 256;
  public static final int DEFAULT_FLOW_CONTROL_WINDOW = 64 << 10;

  public RouteConfig {
    models = List.copyOf(models);
    upstreams = List.copyOf(upstreams);
    fallbacks = List.copyOf(fallbacks);
    Objects.requireNonNull(resilience, "resilience");
    Objects.requireNonNull(protocol, "protocol");
    Objects.requireNonNull(balancing, "balancing");
    if ((protocol == UpstreamProtocol.OPENAI) != (openai != null)) {
      throw new IllegalArgumentException("openai settings go with protocol openai, and only with it");
    }
  }

  /** A route without fallbacks that sends the model as asked. */
  public RouteConfig(String name, List<String> models, boolean isDefault, List<UpstreamEndpoint> upstreams,
      String target, SimulatedUpstreams simulated, LbPolicy lb, int choiceCount, boolean healthCheck,
      int maxTokensLimit, int defaultMaxTokens, int flowControlWindow, TlsClientConfig tls,
      RouteResilience resilience, UpstreamProtocol protocol, OpenAiSettings openai, Balancing balancing) {
    this(name, models, isDefault, upstreams, target, simulated, lb, choiceCount, healthCheck, maxTokensLimit,
        defaultMaxTokens, flowControlWindow, tls, resilience, protocol, openai, balancing, List.of(),
        openai == null ? null : openai.upstreamModel());
  }

  /** A route with the default balancing settings. */
  public RouteConfig(String name, List<String> models, boolean isDefault, List<UpstreamEndpoint> upstreams,
      String target, SimulatedUpstreams simulated, LbPolicy lb, int choiceCount, boolean healthCheck,
      int maxTokensLimit, int defaultMaxTokens, int flowControlWindow, TlsClientConfig tls,
      RouteResilience resilience, UpstreamProtocol protocol, OpenAiSettings openai) {
    this(name, models, isDefault, upstreams, target, simulated, lb, choiceCount, healthCheck, maxTokensLimit,
        defaultMaxTokens, flowControlWindow, tls, resilience, protocol, openai, Balancing.defaults());
  }

  /** A gRPC route. */
  public RouteConfig(String name, List<String> models, boolean isDefault, List<UpstreamEndpoint> upstreams,
      String target, SimulatedUpstreams simulated, LbPolicy lb, int choiceCount, boolean healthCheck,
      int maxTokensLimit, int defaultMaxTokens, int flowControlWindow, TlsClientConfig tls,
      RouteResilience resilience) {
    this(name, models, isDefault, upstreams, target, simulated, lb, choiceCount, healthCheck, maxTokensLimit,
        defaultMaxTokens, flowControlWindow, tls, resilience, UpstreamProtocol.GRPC, null, Balancing.defaults());
  }

  /** A route with the default resilience settings. */
  public RouteConfig(String name, List<String> models, boolean isDefault, List<UpstreamEndpoint> upstreams,
      String target, SimulatedUpstreams simulated, LbPolicy lb, int choiceCount, boolean healthCheck,
      int maxTokensLimit, int defaultMaxTokens, int flowControlWindow, TlsClientConfig tls) {
    this(name, models, isDefault, upstreams, target, simulated, lb, choiceCount, healthCheck, maxTokensLimit,
        defaultMaxTokens, flowControlWindow, tls, RouteResilience.defaults());
  }

  static RouteConfig from(ConfigNode node) {
    String name = node.requiredString("name");
    List<String> models = node.strings("models");
    boolean isDefault = node.bool("default", false);
    if (models.isEmpty() && !isDefault) {
      throw ConfigException.invalid(node.pathOf("models"), null,
          "a list of model names (or \"*\"), or default: true");
    }
    UpstreamProtocol protocol = node.enumValue("protocol", UpstreamProtocol.GRPC, UpstreamProtocol.class);
    boolean openAi = protocol == UpstreamProtocol.OPENAI;
    List<UpstreamEndpoint> upstreams = node.list("upstreams", openAi ? UpstreamEndpoint::fromUrl : UpstreamEndpoint::from);
    String target = node.string("target", null);
    SimulatedUpstreams simulated = node.has("simulated")
        ? SimulatedUpstreams.from(node.child("simulated")) : null;
    int sources = (upstreams.isEmpty() ? 0 : 1) + (target == null ? 0 : 1) + (simulated == null ? 0 : 1);
    if (sources != 1) {
      throw ConfigException.invalid(node.pathOf("upstreams"), sources == 0 ? null : "several sources",
          "exactly one of upstreams (a list of " + (openAi ? "http(s) URLs" : "host:port")
              + "), target (dns:///host:port) or simulated");
    }
    if (target != null && !target.startsWith("dns:///")) {
      throw ConfigException.invalid(node.pathOf("target"), target, "dns:///host:port");
    }
    if (target != null) {
      UpstreamEndpoint.checkedAddress(node.pathOf("target"), target.substring("dns:///".length()));
    }
    LbPolicy lb = node.enumValue("lb", LbPolicy.LEAST_OUTSTANDING, LbPolicy.class);
    int choiceCount = node.integer("choice_count", 2, 2, 10);
    boolean healthCheck = openAi && node.raw("health_check") instanceof java.util.Map<?, ?>
        || node.bool("health_check", true);
    OpenAiSettings openai = openAi ? OpenAiSettings.from(node) : null;
    int limit = node.integer("max_tokens_limit", DEFAULT_MAX_TOKENS_LIMIT, 1, 1 << 20);
    int defaultMaxTokens = node.integer("default_max_tokens", Math.min(DEFAULT_MAX_TOKENS, limit), 1, limit);
    int window = node.integer("flow_control_window", DEFAULT_FLOW_CONTROL_WINDOW, 16 << 10, 16 << 20);
    if (openAi && node.has("tls")) {
      throw ConfigException.invalid(node.pathOf("tls"), "a tls section",
          "no tls section on an openai route: give https:// upstream URLs (the JDK's trust store verifies them)");
    }
    TlsClientConfig tls = TlsClientConfig.from(node.child("tls"));
    RouteResilience resilience = RouteResilience.from(node);
    Balancing balancing = Balancing.from(node, lb);
    List<String> fallbacks = node.strings("fallbacks");
    String upstreamModel = node.string("upstream_model", null);
    if (upstreamModel != null && upstreamModel.isBlank()) {
      throw ConfigException.invalid(node.pathOf("upstream_model"), upstreamModel, "a model name");
    }
    node.rejectUnknownKeys();
    return new RouteConfig(name, models, isDefault, upstreams, target, simulated, lb, choiceCount,
        healthCheck, limit, defaultMaxTokens, window, tls, resilience, protocol, openai, balancing, fallbacks,
        upstreamModel);
  }

  public RouteConfig withModels(List<String> servedModels) {
    return new RouteConfig(name, servedModels, isDefault, upstreams, target, simulated, lb, choiceCount, healthCheck,
        maxTokensLimit, defaultMaxTokens, flowControlWindow, tls, resilience, protocol, openai, balancing, fallbacks, upstreamModel);
  }

  public RouteConfig withMaxTokens(int limit, int defaultMaxTokens) {
    return new RouteConfig(name, models, isDefault, upstreams, target, simulated, lb, choiceCount, healthCheck,
        limit, defaultMaxTokens, flowControlWindow, tls, resilience, protocol, openai, balancing, fallbacks, upstreamModel);
  }

  public RouteConfig withFlowControlWindow(int bytes) {
    return new RouteConfig(name, models, isDefault, upstreams, target, simulated, lb, choiceCount, healthCheck,
        maxTokensLimit, defaultMaxTokens, bytes, tls, resilience, protocol, openai, balancing, fallbacks, upstreamModel);
  }

  public RouteConfig withTls(TlsClientConfig clientTls) {
    return new RouteConfig(name, models, isDefault, upstreams, target, simulated, lb, choiceCount, healthCheck,
        maxTokensLimit, defaultMaxTokens, flowControlWindow, clientTls, resilience, protocol, openai, balancing, fallbacks, upstreamModel);
  }

  public RouteConfig withResilience(RouteResilience newResilience) {
    return new RouteConfig(name, models, isDefault, upstreams, target, simulated, lb, choiceCount, healthCheck,
        maxTokensLimit, defaultMaxTokens, flowControlWindow, tls, newResilience, protocol, openai, balancing, fallbacks, upstreamModel);
  }

  public RouteConfig withHealthCheck(boolean enabled) {
    return new RouteConfig(name, models, isDefault, upstreams, target, simulated, lb, choiceCount, enabled,
        maxTokensLimit, defaultMaxTokens, flowControlWindow, tls, resilience, protocol, openai, balancing, fallbacks, upstreamModel);
  }

  public RouteConfig withBalancing(LbPolicy policy, Balancing newBalancing) {
    return new RouteConfig(name, models, isDefault, upstreams, target, simulated, policy, choiceCount, healthCheck,
        maxTokensLimit, defaultMaxTokens, flowControlWindow, tls, resilience, protocol, openai, newBalancing, fallbacks, upstreamModel);
  }

  public RouteConfig withUpstreams(List<UpstreamEndpoint> newUpstreams) {
    return new RouteConfig(name, models, isDefault, newUpstreams, target, simulated, lb, choiceCount, healthCheck,
        maxTokensLimit, defaultMaxTokens, flowControlWindow, tls, resilience, protocol, openai, balancing, fallbacks, upstreamModel);
  }

  public RouteConfig withOpenAi(OpenAiSettings settings) {
    return new RouteConfig(name, models, isDefault, upstreams, target, simulated, lb, choiceCount, healthCheck,
        maxTokensLimit, defaultMaxTokens, flowControlWindow, tls, resilience,
        settings == null ? UpstreamProtocol.GRPC : UpstreamProtocol.OPENAI, settings, balancing, fallbacks,
        settings != null && settings.upstreamModel() != null ? settings.upstreamModel() : upstreamModel);
  }

  /** This route with other fallback routes, by name. */
  public RouteConfig withFallbacks(List<String> routeNames) {
    return new RouteConfig(name, models, isDefault, upstreams, target, simulated, lb, choiceCount, healthCheck,
        maxTokensLimit, defaultMaxTokens, flowControlWindow, tls, resilience, protocol, openai, balancing, routeNames,
        upstreamModel);
  }

  /** This route sending {@code model} upstream ({@code null}: the model asked for). */
  public RouteConfig withUpstreamModel(String model) {
    return new RouteConfig(name, models, isDefault, upstreams, target, simulated, lb, choiceCount, healthCheck,
        maxTokensLimit, defaultMaxTokens, flowControlWindow, tls, resilience, protocol, openai, balancing, fallbacks,
        model);
  }

  /** A one-route setup over static upstreams, as {@code --upstreams a,b --lb POLICY} builds it. */
  public static RouteConfig forUpstreams(List<UpstreamEndpoint> upstreams, LbPolicy lb) {
    return new RouteConfig("default", List.of(ANY_MODEL), true, upstreams, null, null, lb, 2, true,
        DEFAULT_MAX_TOKENS_LIMIT, DEFAULT_MAX_TOKENS, DEFAULT_FLOW_CONTROL_WINDOW, null);
  }

  /** A one-route setup over simulated upstreams started in-process. */
  public static RouteConfig forSimulated(SimulatedUpstreams simulated, LbPolicy lb) {
    return new RouteConfig("default", List.of(ANY_MODEL), true, List.of(), null, simulated, lb, 2,
        true, DEFAULT_MAX_TOKENS_LIMIT, DEFAULT_MAX_TOKENS, DEFAULT_FLOW_CONTROL_WINDOW, null);
  }
}
