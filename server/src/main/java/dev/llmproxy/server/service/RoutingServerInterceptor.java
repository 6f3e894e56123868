package dev.llmproxy.server.service;

import dev.llmproxy.server.upstream.Route;
import dev.llmproxy.server.upstream.RouteTable;
import dev.llmproxy.v1.CompletionRequest;
import io.grpc.Status;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.LongUnaryOperator;

/**
 * Resolves the request's model to a route and validates the request against it, before any
 * interceptor that spends quota or cache work on it. The route travels on in
 * {@link ProxyContext#ROUTE}, with the routes it may fall back to in {@link ProxyContext#FALLBACKS};
 * the request travels on with the route's defaults filled in. A split model's route is chosen here,
 * by {@link WeightedSplit}.
 */
public final class RoutingServerInterceptor extends RequestDecidingServerInterceptor {
  private final RouteTable routes;
  private final RequestValidator validator;
  private final Map<String, WeightedSplit> splits = new HashMap<>();

  public RoutingServerInterceptor(RouteTable routes, RequestValidator validator) {
    this(routes, validator, bound -> ThreadLocalRandom.current().nextLong(bound));
  }

  /** @param randomBelow a random number in [0, bound): how non-sticky splits choose */
  RoutingServerInterceptor(RouteTable routes, RequestValidator validator, LongUnaryOperator randomBelow) {
    this.routes = Objects.requireNonNull(routes, "routes");
    this.validator = Objects.requireNonNull(validator, "validator");
    routes.splits().forEach(split -> splits.put(split.model(), new WeightedSplit(split, randomBelow)));
  }

  @Override
  protected <ReqT, RespT> CompletionStage<Decision<ReqT, RespT>> decide(PendingCall<ReqT, RespT> call,
      CompletionRequest request) {
    WeightedSplit split = splits.get(request.getModel());
    Route route = split != null ? routes.route(split.pick(ProxyContext.API_KEY_ID.get(call.context())))
        : routes.resolve(request.getModel());
    if (route == null) {
      return now(Decision.reject(Status.NOT_FOUND.withDescription(request.getModel().isEmpty()
          ? "model: empty, and no default route is configured"
          : "model: \"" + abbreviate(request.getModel()) + "\" has no route (expected: one of "
              + routes.modelNames() + ")")));
    }
    Status verdict = validator.check(request, route.config());
    if (!verdict.isOk()) {
      return now(Decision.reject(verdict));
    }
    return now(Decision.proceed(validator.withDefaults(request, route.config()), call.call(),
        call.context().withValues(ProxyContext.ROUTE, route, ProxyContext.REQUESTED_MODEL,
            new ProxyContext.RequestedModel(request.getModel(), request.getMessagesCount() > 0),
            ProxyContext.FALLBACKS, new FallbackRoutes(routes.fallbacks(route)))));
  }

  private static String abbreviate(String model) {
    return model.length() <= 128 ? model : model.substring(0, 128) + "...";
  }
}
