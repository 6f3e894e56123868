package dev.llmproxy.server.upstream;

import java.net.SocketAddress;
import java.util.Set;

/**
 * Tracks the outcomes of a route's upstream calls and says which upstreams to avoid for now:
 * ejected ones (repeated faults) and busy ones. One per route, written by the route's avoidance
 * policy ({@link AvoidanceLoadBalancer}) as its calls end; thread-safe.
 */
public interface OutlierDetector extends PickFilter {
  /** A detector that never avoids anything. */
  OutlierDetector NONE = new OutlierDetector() {
    @Override
    public boolean avoids(SocketAddress address) {
      return false;
    }

    @Override
    public boolean avoidsAny() {
      return false;
    }

    @Override
    public void record(SocketAddress address, UpstreamOutcome outcome) {
    }

    @Override
    public int ejectedCount() {
      return 0;
    }

    @Override
    public long ejections() {
      return 0;
    }

    @Override
    public boolean isEjected(SocketAddress address) {
      return false;
    }
  };

  /** Records how a call to the upstream at {@code address} ended. */
  void record(SocketAddress address, UpstreamOutcome outcome);

  /**
   * Records a busy answer that asked to be left alone for {@code retryAfterNanos} (an HTTP
   * {@code Retry-After} or a {@code grpc-retry-pushback-ms}): the upstream is avoided for the longer
   * of that and the route's busy avoidance.
   */
  default void recordBusy(SocketAddress address, long retryAfterNanos) {
    record(address, UpstreamOutcome.BUSY);
  }

  /** Upstreams ejected right now. */
  int ejectedCount();

  /** Ejections so far. */
  long ejections();

  /** Whether the upstream at {@code address} is ejected right now (busy does not count). */
  boolean isEjected(SocketAddress address);

  /**
   * Tells the detector the route's upstreams as its channel resolved them, which count towards the
   * limit on ejected upstreams even before they had a call (under pick_first, only one has calls).
   */
  default void upstreamsAre(Set<SocketAddress> addresses) {
  }

  /** How long the upstream at {@code address} stays ejected from now; 0 if it is not ejected. */
  default long nanosUntilReturn(SocketAddress address) {
    return 0;
  }
}
