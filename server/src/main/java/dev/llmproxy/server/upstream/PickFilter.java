package dev.llmproxy.server.upstream;

import io.grpc.CallOptions;
import java.net.SocketAddress;

/**
 * Upstreams a call's pick should stay away from: ejected or busy ones, and those that already
 * failed this call. Passed to the load balancer in the call's {@link CallOptions} under
 * {@link #CALL_OPTION}; {@code least_outstanding}, {@code peak_ewma}, {@code prefix_affinity} and {@code least_loaded}
 * honour it, choosing among the others ({@code round_robin} through a wrapping policy), and
 * still picks an avoided upstream when every upstream is avoided (trying beats failing).
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
