package dev.llmproxy.server.upstream;

import io.grpc.LoadBalancer.PickResult;
import io.grpc.LoadBalancer.PickSubchannelArgs;
import io.grpc.LoadBalancer.Subchannel;
import io.grpc.LoadBalancer.SubchannelPicker;
import java.net.SocketAddress;
import java.util.List;

/**
 * Asks its child picker again while the call's {@link PickFilter} avoids the upstream it picked,
 * up to {@value #MAX_REPICKS} times; round robin moves on by one each time, so an avoided upstream
 * is skipped. If every try lands on an avoided upstream the first pick stands: trying an avoided
 * upstream beats failing the call. Addresses come from the subchannel's attributes (see
 * {@link PickFilterLoadBalancer#ADDRESSES}).
 */
final class PickFilterPicker extends SubchannelPicker {
  static final int MAX_REPICKS = 16;

  private final SubchannelPicker child;

  PickFilterPicker(SubchannelPicker child) {
    this.child = child;
  }

  @Override
  public PickResult pickSubchannel(PickSubchannelArgs args) {
    PickResult first = child.pickSubchannel(args);
    PickFilter filter = args.getCallOptions().getOption(PickFilter.CALL_OPTION);
    if (filter == null || !filter.avoidsAny() || !avoided(filter, first)) {
      return first;
    }
    for (int i = 0; i < MAX_REPICKS; i++) {
      PickResult next = child.pickSubchannel(args);
      if (!avoided(filter, next)) {
        return next;
      }
    }
    return first;
  }

  private static boolean avoided(PickFilter filter, PickResult result) {
    Subchannel subchannel = result.getSubchannel();
    if (subchannel == null) {
      return false;
    }
    List<SocketAddress> addresses = subchannel.getAttributes().get(PickFilterLoadBalancer.ADDRESSES);
    if (addresses == null) {
      return false;
    }
    for (int i = 0; i < addresses.size(); i++) {
      if (filter.avoids(addresses.get(i))) {
        return true;
      }
    }
    return false;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof PickFilterPicker other && child.equals(other.child);
  }

  @Override
  public int hashCode() {
    return child.hashCode() + 1;
  }

  @Override
  public String toString() {
    return "PickFilterPicker{" + child + "}";
  }
}
