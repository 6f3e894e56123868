package dev.llmproxy.server.service;

import io.grpc.Status;

/**
 * Whether a call that its route's pool could not serve moves on to a fallback route: a pure function
 * of how its last attempt on that route ended.
 *
 * <p>Only before anything reached the client, while the client is there, and only for what says
 * the pool cannot take the call (every upstream down, ejected or refusing: {@code UNAVAILABLE};
 * busy: {@code RESOURCE_EXHAUSTED}; or a stall). An answer about the request itself
 * ({@code INVALID_ARGUMENT}, ...) would be the same on any route, so it is passed through.
 */
final class RouteFallback {
  private RouteFallback() {}

  static boolean fallsBack(Failover.AttemptEnd end) {
    return end.relayed() == 0
        && !end.clientGone()
        && (end.stalled() || end.code() == Status.Code.UNAVAILABLE || end.code() == Status.Code.RESOURCE_EXHAUSTED);
  }
}
