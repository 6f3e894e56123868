package dev.llmproxy.server.upstream;

import io.grpc.Attributes;
import io.grpc.ConnectivityState;
import io.grpc.EquivalentAddressGroup;
import io.grpc.LoadBalancer;
import io.grpc.Status;
import io.grpc.util.ForwardingLoadBalancer;
import io.grpc.util.ForwardingLoadBalancerHelper;
import io.grpc.util.GracefulSwitchLoadBalancer;
import java.net.SocketAddress;
import java.util.ArrayList;
import java.util.List;

/**
 * Runs a child policy and hands the channel its pickers wrapped in {@link PickFilterPicker}. Each
 * subchannel the child creates carries its addresses in its attributes under {@link #ADDRESSES}:
 * a picker may not ask a subchannel for its addresses (grpc allows that only in the channel's
 * synchronization context), but it may read its attributes.
 */
final class PickFilterLoadBalancer extends ForwardingLoadBalancer {
  static final Attributes.Key<List<SocketAddress>> ADDRESSES = Attributes.Key.create("llmproxy-addresses");

  private final GracefulSwitchLoadBalancer child;

  PickFilterLoadBalancer(Helper helper) {
    this.child = new GracefulSwitchLoadBalancer(new ForwardingLoadBalancerHelper() {
      @Override
      protected Helper delegate() {
        return helper;
      }

      @Override
      public void updateBalancingState(ConnectivityState state, SubchannelPicker picker) {
        helper.updateBalancingState(state, new PickFilterPicker(picker));
      }

      @Override
      public Subchannel createSubchannel(CreateSubchannelArgs args) {
        List<SocketAddress> addresses = new ArrayList<>();
        for (EquivalentAddressGroup group : args.getAddresses()) {
          addresses.addAll(group.getAddresses());
        }
        return super.createSubchannel(args.toBuilder()
            .setAttributes(args.getAttributes().toBuilder().set(ADDRESSES, List.copyOf(addresses)).build())
            .build());
      }
    });
  }

  @Override
  protected LoadBalancer delegate() {
    return child;
  }

  @Override
  public Status acceptResolvedAddresses(ResolvedAddresses resolvedAddresses) {
    Config config = (Config) resolvedAddresses.getLoadBalancingPolicyConfig();
    return child.acceptResolvedAddresses(
        resolvedAddresses.toBuilder().setLoadBalancingPolicyConfig(config.child()).build());
  }

  /** The parsed child policy, as {@link GracefulSwitchLoadBalancer} takes it. */
  record Config(Object child) {
  }
}
