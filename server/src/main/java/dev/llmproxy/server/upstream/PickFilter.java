package dev.llmproxy.server.upstream;

import io.grpc.CallOptions;
import java.net.SocketAddress;

/**
 * Upstreams a call's pick should stay away from: ejected or busy ones, and those that already
 * failed this call. The avoidance policy ({@link AvoidanceLoadBalancerProvider}) puts it in the
 * pick's {@link CallOptions} under {@link #CALL_OPTION} for the child policies that read it:
 * {@code least_outstanding}, {@code peak_ewma}, {@code prefix_affinity} and {@code least_loaded}
 * choose among the others, and still pick an avoided upstream when every upstream is avoided
 * (trying beats failing).
 *
 * <p>Called on every pick, from any thread: implementations must be fast and must not block.
 */
public interface PickFilter {
  /** The call option under which a call carries its filter. */
  CallOptions.Key<PickFilter> CALL_OPTION = CallOptions.Key.create("llmproxy-pick-filter");

  /** Whether picks should avoid the upstream at {@code address}. */
  boolean avoids(SocketAddress address);

  /**
   * Whether this filter may avoid anything right now; false lets a picker skip looking up the
   * addresses of what it picked.
   */
  default boolean avoidsAny() {
    return true;
  }
}
