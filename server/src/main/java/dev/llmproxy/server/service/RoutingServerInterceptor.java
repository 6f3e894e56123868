package dev.llmproxy.server.service;

import dev.llmproxy.server.upstream.Route;
import dev.llmproxy.server.upstream.RouteTable;
import dev.llmproxy.v1.CompletionRequest;
import io.grpc.Status;
import java.util.Objects;
import java.util.concurrent.CompletionStage;

/**
 * Resolves the request's model to a route and validates the request against it, before any
 * interceptor that spends quota or cache work on it. The route travels on in
 * {@link ProxyContext#ROUTE}; the request travels on with the route's defaults filled in.
 */
public final class RoutingServerInterceptor extends RequestDecidingServerInterceptor {
  private final RouteTable routes;
  private final RequestValidator validator;

  public RoutingServerInterceptor(RouteTable routes, RequestValidator validator) {
    this.routes = Objects.requireNonNull(routes, "routes");
    this.validator = Objects.requireNonNull(validator, "validator");
  }

  @Override
  protected <ReqT, RespT> CompletionStage<Decision<ReqT, RespT>> decide(PendingCall<ReqT, RespT> call,
      CompletionRequest request) {
    Route route = routes.resolve(request.getModel());
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
            new ProxyContext.RequestedModel(request.getModel(), request.getMessagesCount() > 0))));
  }

  private static String abbreviate(String model) {
    return model.length() <= 128 ? model : model.substring(0, 128) + "...";
  }
}
