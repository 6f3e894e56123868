package dev.llmproxy.server.service;

import dev.llmproxy.server.config.RetryPolicy;
import io.grpc.Status;
import java.net.SocketAddress;
import java.util.List;

/**
 * Whether a failed attempt of a call is sent to another upstream: a pure function of how the attempt
 * ended and what the call has tried so far.
 *
 * <p>Failover happens only while nothing has reached the client (no message relayed), the client is
 * still there, the failure is one the route's {@link RetryPolicy} lists or a stall, attempts are
 * left, and there is another upstream to go to: a route with one upstream does not retry, and
 * neither does a call whose attempt landed on an upstream that had already failed it (every other
 * one was unavailable).
 */
final class Failover {
  private Failover() {}

  /**
   * How one attempt ended.
   *
   * @param code the status the client would see, upstream-side cancellations already read as
   *     UNAVAILABLE
   * @param relayed messages relayed to the client from this attempt
   * @param stalled the proxy cancelled it for want of a message
   * @param clientGone the client's call had ended (cancelled, deadline passed)
   * @param upstream where the attempt went, or {@code null} if it never reached a transport
   */
  record AttemptEnd(Status.Code code, int relayed, boolean stalled, boolean clientGone, SocketAddress upstream) {
  }

  /**
   * @param attempts attempts made so far, the one that ended included
   * @param failedUpstreams upstreams earlier attempts of this call failed on
   */
  static boolean failsOver(AttemptEnd end, RetryPolicy retry, boolean routeHasAlternatives, int attempts,
      List<SocketAddress> failedUpstreams) {
    return end.relayed() == 0
        && !end.clientGone()
        && (end.stalled() || retry.retries(end.code()))
        && attempts < retry.attempts()
        && routeHasAlternatives
        && (end.upstream() == null || !failedUpstreams.contains(end.upstream()));
  }
}
