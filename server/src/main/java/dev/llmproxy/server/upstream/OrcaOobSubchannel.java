package dev.llmproxy.server.upstream;

import io.grpc.LoadBalancer.Subchannel;
import io.grpc.LoadBalancer.SubchannelStateListener;
import io.grpc.util.ForwardingSubchannel;

/**
 * A subchannel that keeps an {@link OrcaOobStream} to its backend while it is READY: the stream
 * sees each state before the subchannel's own listener (pick_first), and ends when the subchannel
 * shuts down (its endpoint left the resolver's list, or the balancer shut down).
 */
final class OrcaOobSubchannel extends ForwardingSubchannel {
  private final Subchannel delegate;
  private final OrcaOobStream stream;

  OrcaOobSubchannel(Subchannel delegate, OrcaOobStream stream) {
    this.delegate = delegate;
    this.stream = stream;
  }

  @Override
  protected Subchannel delegate() {
    return delegate;
  }

  @Override
  public void start(SubchannelStateListener listener) {
    super.start(state -> {
      stream.onSubchannelState(state);
      listener.onSubchannelState(state);
    });
  }

  @Override
  public void shutdown() {
    stream.close();
    super.shutdown();
  }
}
