package dev.llmproxy.server.upstream;

import io.grpc.Status;

/**
 * The one judgement of upstream faults that grpc reports with codes blaming someone else: a
 * message from the upstream larger than the proxy accepts (grpc's own RESOURCE_EXHAUSTED, which
 * would read as busy, or as the client's quota) and an upstream that does not speak HTTP/2 at all
 * (grpc's INTERNAL "http2 exception"). Both become UNAVAILABLE naming the upstream and the fault.
 * The avoidance policy judges every call's end with it before counting it against the upstream;
 * the relay judges with it before failing over and before telling the client.
 */
public final class UpstreamFault {
  /** The longest part of an upstream's own message (or of a fault's cause) quoted in a status. */
  public static final int MAX_UPSTREAM_MESSAGE = 200;
  // grpc-java's wording for a message over maxInboundMessageSize (MessageDeframer).
  private static final String TOO_LARGE = "gRPC message exceeds maximum size";
  // grpc-java's wording for an HTTP/2 protocol failure of the connection (netty Utils).
  private static final String HTTP2_EXCEPTION = "http2 exception";

  private UpstreamFault() {}

  /**
   * The upstream call's status as judged: a message too large or a connection that is not HTTP/2
   * becomes UNAVAILABLE naming the upstream ({@code upstreamName}, null: "the upstream") and the
   * fault, with the original as its cause, so it counts against the upstream and fails over like
   * any other outage; anything else is returned as it is (the same instance, so a caller can tell).
   */
  public static Status judged(Status upstream, String upstreamName) {
    String fault = upstreamFault(upstream, upstreamName);
    if (fault == null) {
      return upstream;
    }
    Throwable cause = upstream.getCause() != null ? upstream.getCause() : upstream.asRuntimeException();
    return Status.UNAVAILABLE.withDescription(fault).withCause(cause);
  }

  /** {@code text} on one line, cut to {@link #MAX_UPSTREAM_MESSAGE} characters. */
  public static String abbreviate(String text) {
    String oneLine = text.replaceAll("\\s+", " ").strip();
    return oneLine.length() <= MAX_UPSTREAM_MESSAGE ? oneLine
        : oneLine.substring(0, MAX_UPSTREAM_MESSAGE - 1) + "…";
  }

  /** Whether {@link #judged} would turn {@code status} into the upstream's fault; builds no text. */
  public static boolean isFault(Status status) {
    return isTooLarge(status) || isNotHttp2(status);
  }

  private static String upstreamFault(Status status, String upstreamName) {
    if (isTooLarge(status)) {
      return named(upstreamName) + " sent a message larger than the proxy accepts ("
          + abbreviate(status.getDescription()) + ")";
    }
    if (isNotHttp2(status)) {
      Throwable cause = status.getCause();
      String why = cause != null && cause.getMessage() != null ? abbreviate(cause.getMessage())
          : status.getDescription();
      return named(upstreamName) + " does not speak HTTP/2 (" + why + ")";
    }
    return null;
  }

  private static String named(String upstreamName) {
    return upstreamName == null ? "the upstream" : "upstream " + upstreamName;
  }

  private static boolean isTooLarge(Status status) {
    return status.getCode() == Status.Code.RESOURCE_EXHAUSTED && status.getDescription() != null
        && status.getDescription().contains(TOO_LARGE);
  }

  private static boolean isNotHttp2(Status status) {
    return status.getCode() == Status.Code.INTERNAL
        && (HTTP2_EXCEPTION.equals(status.getDescription()) || isHttp2Error(status));
  }

  private static boolean isHttp2Error(Status status) {
    for (Throwable t = status.getCause(); t != null && t != t.getCause(); t = t.getCause()) {
      if (t.getClass().getSimpleName().equals("Http2Exception") || t.getClass().getName().endsWith(".Http2Exception")) {
        return true;
      }
    }
    return false;
  }
}
