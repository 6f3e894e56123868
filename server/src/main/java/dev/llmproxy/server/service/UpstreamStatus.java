package dev.llmproxy.server.service;

import io.grpc.Status;

/**
 * The one place that turns an upstream call's failure into the status the client sees. Client
 * faults stay client faults, infrastructure failures never masquerade as the client's fault, and
 * a failure after the first chunk passes the upstream's code through (never a silent truncation).
 *
 * <p>Two failures are the upstream's although grpc reports them with codes that would blame
 * someone else: a message from the upstream larger than the proxy accepts (grpc's own
 * RESOURCE_EXHAUSTED, which the client would read as its quota), and an upstream that does not
 * speak HTTP/2 at all (grpc's INTERNAL "http2 exception"). Both become UNAVAILABLE naming the
 * upstream and the fault. What an upstream wrote in its own {@code grpc-message} is passed on
 * length-limited and marked as the upstream's words, never as the proxy's.
 */
final class UpstreamStatus {
  /** The longest part of an upstream's own message that reaches the client. */
  static final int MAX_UPSTREAM_MESSAGE = 200;
  // grpc-java's wording for a message over maxInboundMessageSize (MessageDeframer).
  private static final String TOO_LARGE = "gRPC message exceeds maximum size";
  // grpc-java's wording for an HTTP/2 protocol failure of the connection (netty Utils).
  private static final String HTTP2_EXCEPTION = "http2 exception";

  private UpstreamStatus() {}

  /**
   * The upstream call's status as the relay should judge it: a message too large or a connection
   * that is not HTTP/2 becomes UNAVAILABLE naming the upstream and the fault (with the original as
   * its cause), so it counts against the upstream and fails over like any other outage; anything
   * else is returned as it is (the same instance, so a caller can tell).
   */
  static Status judged(Status upstream, String upstreamName) {
    String fault = upstreamFault(upstream, upstreamName);
    if (fault == null) {
      return upstream;
    }
    Throwable cause = upstream.getCause() != null ? upstream.getCause() : upstream.asRuntimeException();
    return Status.UNAVAILABLE.withDescription(fault).withCause(cause);
  }

  /**
   * The client's status for an upstream failure, after {@code attempts} upstreams were tried; the
   * failure is {@link #judged} first (the relay has usually done so already).
   */
  static Status toClientStatus(Status failure, String route, String upstreamName, int messagesRelayed,
      int attempts) {
    Status upstream = judged(failure, upstreamName);
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
   * What the upstream did wrong when grpc's own status would blame someone else, or null: a
   * message too large, or a connection that is not HTTP/2.
   */
  private static String upstreamFault(Status status, String upstreamName) {
    String upstream = upstreamName == null ? "the upstream" : "upstream " + upstreamName;
    String description = status.getDescription() == null ? "" : status.getDescription();
    if (status.getCode() == Status.Code.RESOURCE_EXHAUSTED && description.contains(TOO_LARGE)) {
      return upstream + " sent a message larger than the proxy accepts (" + abbreviate(description) + ")";
    }
    if (status.getCode() == Status.Code.INTERNAL && (description.equals(HTTP2_EXCEPTION) || isHttp2Error(status))) {
      Throwable cause = status.getCause();
      String why = cause != null && cause.getMessage() != null ? abbreviate(cause.getMessage()) : description;
      return upstream + " does not speak HTTP/2 (" + why + ")";
    }
    return null;
  }

  private static boolean isHttp2Error(Status status) {
    for (Throwable t = status.getCause(); t != null && t != t.getCause(); t = t.getCause()) {
      if (t.getClass().getSimpleName().equals("Http2Exception") || t.getClass().getName().endsWith(".Http2Exception")) {
        return true;
      }
    }
    return false;
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
    return local ? abbreviate(description)
        : "upstream said " + upstream.getCode() + ": \"" + abbreviate(description) + "\"";
  }

  private static String abbreviate(String text) {
    String oneLine = text.replaceAll("\\s+", " ").strip();
    return oneLine.length() <= MAX_UPSTREAM_MESSAGE ? oneLine
        : oneLine.substring(0, MAX_UPSTREAM_MESSAGE - 1) + "…";
  }
}
