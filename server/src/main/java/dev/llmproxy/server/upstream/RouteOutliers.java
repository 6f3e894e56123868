package dev.llmproxy.server.upstream;

import static java.util.Objects.requireNonNull;

import dev.llmproxy.server.config.OutlierDetection;
import java.net.SocketAddress;
import java.util.function.LongSupplier;

/**
 * A route's outlier state, kept by its channel's avoidance policy ({@link
 * AvoidanceLoadBalancerProvider}) and read here by the route's metrics ({@code
 * llmproxy.upstream.ejected}, {@code llmproxy.upstream.outlier.ejections}) and the admin endpoint.
 * Read-only from outside this package: only the policy, which sees every call's end, writes it.
 *
 * <p>The channel hands it to its policy as a name-resolver argument ({@link
 * AvoidanceLoadBalancerProvider#OUTLIERS}); a policy instance the channel makes again (after idling)
 * finds the same detector here and so keeps the ejections.
 */
public final class RouteOutliers {
  private volatile OutlierDetector detector = OutlierDetector.NONE;
  private OutlierDetection settings;

  /**
   * The detector for {@code settings}: the one already here if it was made for the same settings,
   * else a new one (nothing is tracked for settings that turn detection off).
   */
  synchronized OutlierDetector detectorFor(OutlierDetection settings, LongSupplier nanoClock) {
    requireNonNull(settings, "settings");
    if (!settings.equals(this.settings)) {
      this.settings = settings;
      detector = settings.enabled() ? new ConsecutiveFailureOutlierDetector(settings, nanoClock) : OutlierDetector.NONE;
    }
    return detector;
  }

  /** Upstreams ejected right now. */
  public int ejectedCount() {
    return detector.ejectedCount();
  }

  /** Ejections so far. */
  public long ejections() {
    return detector.ejections();
  }

  /** Whether the upstream at {@code address} is ejected right now (busy does not count). */
  public boolean isEjected(SocketAddress address) {
    return detector.isEjected(address);
  }

  @Override
  public String toString() {
    return "RouteOutliers{" + detector + "}";
  }
}
