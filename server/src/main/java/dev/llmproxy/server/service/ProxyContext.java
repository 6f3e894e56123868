package dev.llmproxy.server.service;

import dev.llmproxy.server.upstream.Route;
import io.grpc.Context;
import io.opentelemetry.api.trace.Span;

/** Values that travel with a call through the interceptor chain, in its gRPC {@link Context}. */
public final class ProxyContext {
  /** The route the request resolved to; set by {@link RoutingServerInterceptor}. */
  public static final Context.Key<Route> ROUTE = Context.key("llmproxy-route");

  /**
   * The routes the call may move to if {@link #ROUTE}'s pool cannot take it; set with {@link #ROUTE},
   * and again by the stage that moves a call to a fallback.
   */
  public static final Context.Key<FallbackRoutes> FALLBACKS = Context.key("llmproxy-fallbacks");

  /** What the request asked for, for metrics, logs and traces; set with {@link #ROUTE}. */
  public static final Context.Key<RequestedModel> REQUESTED_MODEL = Context.key("llmproxy-requested-model");

  /**
   * @param model the model as the client named it (empty: the default route)
   * @param chat whether the request has messages (a chat) rather than a prompt
   */
  public record RequestedModel(String model, boolean chat) {}

  /**
   * The configured id of the caller's API key (never the secret), or absent for an anonymous
   * caller; set by the authenticating interceptor from the request headers.
   */
  public static final Context.Key<String> API_KEY_ID = Context.key("llmproxy-api-key-id");

  /**
   * The call's server span, present only while tracing is on; set by the observing interceptor, so
   * that inner layers can relate calls (the cache links a call that joins another's upstream call).
   */
  public static final Context.Key<Span> SERVER_SPAN = Context.key("llmproxy-server-span");

  private ProxyContext() {}
}
