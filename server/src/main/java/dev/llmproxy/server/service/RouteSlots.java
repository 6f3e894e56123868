package dev.llmproxy.server.service;

import dev.llmproxy.server.upstream.Route;
import io.grpc.Context;

/**
 * Admission to a route's pool for a call that moves there from another route: whether the route
 * has room now (no waiting: the call has waited once already), holding the room until the call ends.
 */
public interface RouteSlots {
  /** No route is capped. */
  RouteSlots UNCAPPED = (route, call) -> true;

  /**
   * Takes room on {@code route} for the call of {@code callContext}, released when that context
   * ends; false if the route is at its cap.
   */
  boolean tryTake(Route route, Context callContext);
}
