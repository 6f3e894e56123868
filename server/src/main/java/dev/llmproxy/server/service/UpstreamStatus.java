package dev.llmproxy.server.service;

import dev.llmproxy.server.upstream.UpstreamFault;
import io.grpc.Status;

/**
 * The one place that turns an upstream call's failure into the status the client sees. Client
 * faults stay client faults, infrastructure failures never masquerade as the client's fault, and
 * a failure after the first chunk passes the upstream's code through (never a silent truncation).
 *
 * <p>Failures that are the upstream's although grpc reports them with codes that would blame
 * someone else (a message too large, a connection that is not HTTP/2) are judged by {@link
 * UpstreamFault} first, the same judgement the avoidance policy counts against the upstream. What an upstream wrote in its own {@code grpc-message} is passed on
 * length-limited and marked as the upstream's words, never as the proxy's.
 */
final class UpstreamStatus {
  private UpstreamStatus() {}

  /**
   * The client's status for an upstream failure, after {@code attempts} upstreams were tried; the
   * failure is {@link UpstreamFault#judged} first (the relay has usually done so already).
   */
  static Status toClientStatus(Status failure, String route, String upstreamName, int messagesRelayed,
      int attempts) {
    Status upstream = UpstreamFault.judged(failure, upstreamName);
    String who = upstreamName == null ? "route '" + route + "'" : "route '" + route + "', upstream " + upstreamName;
    String detail = detail(upstream);
    if (messagesRelayed > 0) {
      return Status.fromCode(upstream.getCode()).withDescription(
          who + ": failed after " + messagesRelayed + " chunks: " + detail);
    }
    return switch (upstream.getCode()) {
      case UNAVAILABLE -> Status.UNAVAILABLE.withDescription("route '" + route + "': no upstream available"
          + (attempts > 1 ? " after " + attempts + " attempts" : "") + " (" + detail + ")");
      case CANCELLED, DEADLINE_EXCEEDED -> Status.fromCode(upstream.getCode()).withDescription(detail);
      // An upstream rejecting our request is not the client's fault unless it is about the request.
      case UNAUTHENTICATED, PERMISSION_DENIED -> Status.INTERNAL.withDescription(
          who + ": upstream refused the proxy's credentials (" + detail + ")");
      default -> Status.fromCode(upstream.getCode()).withDescription(who + ": " + detail);
    };
  }

  /**
   * The failure in words: grpc's own description of a local failure (it carries a cause), or what
   * the upstream wrote in its trailers, quoted, marked as the upstream's and length-limited.
   */
  private static String detail(Status upstream) {
    String description = upstream.getDescription();
    if (description == null) {
      return upstream.getCode().name();
    }
    boolean local = upstream.getCause() != null || upstream.getCode() == Status.Code.CANCELLED
        || upstream.getCode() == Status.Code.DEADLINE_EXCEEDED;
    return local ? UpstreamFault.abbreviate(description)
        : "upstream said " + upstream.getCode() + ": \"" + UpstreamFault.abbreviate(description) + "\"";
  }
}
