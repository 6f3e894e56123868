package dev.llmproxy.server.service;

import io.grpc.Status;

/**
 * The one place that turns an upstream call's failure into the status the client sees. Client
 * faults stay client faults, infrastructure failures never masquerade as the client's fault, and
 * a failure after the first chunk passes the upstream's code through (never a silent truncation).
 */
final class UpstreamStatus {
  private UpstreamStatus() {}

  /** The client's status for an upstream failure, after {@code attempts} upstreams were tried. */
  static Status toClientStatus(Status upstream, String route, String upstreamName, int messagesRelayed,
      int attempts) {
    String who = upstreamName == null ? "route '" + route + "'" : "route '" + route + "', upstream " + upstreamName;
    String detail = upstream.getDescription() == null ? upstream.getCode().name() : upstream.getDescription();
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
}
