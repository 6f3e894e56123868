package dev.llmproxy.server.upstream;

import io.grpc.CallOptions;
import java.net.SocketAddress;
import java.util.List;

/**
 * One try of a call on a route's channel, as its caller describes it to the route's avoidance
 * policy ({@link AvoidanceLoadBalancerProvider}) in the call's {@link CallOptions} under
 * {@link #CALL_OPTION}. These are facts about the call, not about upstream health: which upstreams
 * this call already failed on (its picks avoid them), and, when the call ends, whether its caller
 * had gone or had cancelled it for stalling. The policy judges the upstream's health from the end
 * of the call itself ({@link UpstreamOutcome}); without this option a call avoids only what the
 * policy avoids and every end counts as it looks.
 *
 * <p>Read from transport threads: implementations must be thread-safe and must not block.
 */
public interface UpstreamAttempt {
  /** The call option under which an upstream call carries its attempt. */
  CallOptions.Key<UpstreamAttempt> CALL_OPTION = CallOptions.Key.create("llmproxy-upstream-attempt");

  /** The upstreams this call already failed on, which its pick avoids; empty on a first try. */
  List<SocketAddress> failedUpstreams();

  /**
   * Whether the caller's own call had ended (cancelled, deadline passed) when this one closed, so
   * that it was cancelled on the caller's behalf and says nothing about the upstream.
   */
  boolean callerGone();

  /** Whether the caller cancelled this call because the upstream stopped producing (a fault). */
  boolean stalled();
}
