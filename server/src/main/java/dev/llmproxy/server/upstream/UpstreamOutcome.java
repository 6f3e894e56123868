package dev.llmproxy.server.upstream;

import io.grpc.Status;

/**
 * What one upstream call says about the upstream's health. Only the upstream's own faults count
 * against it: a client that cancels or runs out of time, and answers about the request itself,
 * say nothing about the upstream; a busy upstream is not a broken one.
 */
public enum UpstreamOutcome {
  /** The upstream answered. */
  SUCCESS,
  /** The upstream failed: down, reset, crashed, stalled, or not serving the API at all. */
  FAULT,
  /** The upstream is at capacity (RESOURCE_EXHAUSTED): worth avoiding briefly, not ejecting. */
  BUSY,
  /** Nothing to count: the client's cancel or deadline, or an answer about the request. */
  NOT_COUNTED;

  /**
   * Classifies the end of an upstream call.
   *
   * @param code the status the upstream call closed with
   * @param stalled whether the proxy cancelled the call because the upstream stopped producing
   * @param clientGone whether the client's call had already ended (cancel, deadline) when the
   *     upstream call closed, so the upstream call was cancelled on the client's behalf; a
   *     CANCELLED or DEADLINE_EXCEEDED while the client is still there came from the upstream
   *     side (a killed server resets its streams) and is the upstream's fault
   */
  public static UpstreamOutcome of(Status.Code code, boolean stalled, boolean clientGone) {
    return classify(code, stalled, clientGone);
  }

  /**
   * Classifies the end of an upstream call as {@link #of(Status.Code, boolean, boolean)} does, after
   * judging its status ({@link UpstreamFault#judged}): a message too large or a connection that is
   * not HTTP/2 is the upstream's fault whatever code grpc gave it.
   */
  public static UpstreamOutcome of(Status status, boolean stalled, boolean clientGone) {
    Status.Code code = !clientGone && UpstreamFault.isFault(status) ? Status.Code.UNAVAILABLE : status.getCode();
    return classify(code, stalled, clientGone);
  }

  private static UpstreamOutcome classify(Status.Code code, boolean stalled, boolean clientGone) {
    if (stalled) {
      return FAULT;
    }
    if (clientGone) {
      return code == Status.Code.OK ? SUCCESS : NOT_COUNTED;
    }
    return switch (code) {
      case OK -> SUCCESS;
      case UNAVAILABLE, INTERNAL, UNKNOWN, DATA_LOSS, UNIMPLEMENTED, CANCELLED, DEADLINE_EXCEEDED -> FAULT;
      case RESOURCE_EXHAUSTED -> BUSY;
      // The rest describe the request or the proxy's credentials, which another upstream would
      // judge the same way.
      default -> NOT_COUNTED;
    };
  }
}
