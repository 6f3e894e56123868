package dev.llmproxy.server.upstream;

import io.grpc.CallOptions;
import io.grpc.ClientStreamTracer;
import io.grpc.LoadBalancer.PickDetailsConsumer;
import io.grpc.LoadBalancer.PickResult;
import io.grpc.LoadBalancer.PickSubchannelArgs;
import io.grpc.LoadBalancer.Subchannel;
import io.grpc.LoadBalancer.SubchannelPicker;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import java.net.SocketAddress;
import java.util.List;

/**
 * The avoidance policy's picker over a child's picker (see {@link AvoidanceLoadBalancer} for the
 * design): keeps the pick away from avoided upstreams, and hands every pick a stream tracer
 * ({@link OutcomeTracer}) that records how its call ended. Immutable; allocates only for calls that
 * have something to avoid, plus the tracer factory of each pick.
 */
final class AvoidancePicker extends SubchannelPicker {
  /** How many more times a child that does not read the filter is asked for another upstream. */
  static final int MAX_REPICKS = 16;

  private final SubchannelPicker child;
  private final OutlierDetector detector;
  private final boolean childReadsFilter;
  private final AvoidanceLoadBalancer balancer;

  AvoidancePicker(SubchannelPicker child, OutlierDetector detector, boolean childReadsFilter,
      AvoidanceLoadBalancer balancer) {
    this.child = child;
    this.detector = detector;
    this.childReadsFilter = childReadsFilter;
    this.balancer = balancer;
  }

  @Override
  public PickResult pickSubchannel(PickSubchannelArgs args) {
    UpstreamAttempt attempt = args.getCallOptions().getOption(UpstreamAttempt.CALL_OPTION);
    List<SocketAddress> failed = attempt == null ? List.of() : attempt.failedUpstreams();
    PickResult result;
    if (failed.isEmpty() && !detector.avoidsAny()) {
      result = child.pickSubchannel(args);
    } else {
      PickFilter filter = failed.isEmpty() ? detector : new AttemptFilter(detector, failed);
      result = childReadsFilter ? child.pickSubchannel(new FilteredArgs(args, filter)) : repick(args, filter);
    }
    Subchannel subchannel = result.getSubchannel();
    if (subchannel == null) {
      return result; // an error, a drop or a wait: no call to count
    }
    return result.copyWithStreamTracerFactory(
        new OutcomeTracer.Factory(result.getStreamTracerFactory(), subchannel, attempt, detector, balancer));
  }

  /**
   * Asks the child again while it picks an avoided upstream; round robin moves on by one each time.
   * If every try lands on an avoided upstream, or the child repeats itself (pick_first, or a single
   * upstream), the first pick stands: trying an avoided upstream beats failing the call.
   */
  private PickResult repick(PickSubchannelArgs args, PickFilter filter) {
    PickResult first = child.pickSubchannel(args);
    if (!avoided(filter, first)) {
      return first;
    }
    for (int i = 0; i < MAX_REPICKS; i++) {
      PickResult next = child.pickSubchannel(args);
      if (!avoided(filter, next)) {
        return next;
      }
      if (next.getSubchannel() == first.getSubchannel()) {
        break;
      }
    }
    return first;
  }

  /** Whether the pick is a subchannel whose every address is avoided. */
  private static boolean avoided(PickFilter filter, PickResult result) {
    Subchannel subchannel = result.getSubchannel();
    List<SocketAddress> addresses = subchannel == null ? null
        : subchannel.getAttributes().get(AvoidanceLoadBalancer.ADDRESSES);
    if (addresses == null || addresses.isEmpty()) {
      return false;
    }
    for (int i = 0; i < addresses.size(); i++) {
      if (!filter.avoids(addresses.get(i))) {
        return false;
      }
    }
    return true;
  }

  @Override
  public String toString() {
    return "AvoidancePicker{" + child + "}";
  }

  /** The pick's arguments with {@code filter} in its call options, for children that read it. */
  private static final class FilteredArgs extends PickSubchannelArgs {
    private final PickSubchannelArgs args;
    private final CallOptions options;

    FilteredArgs(PickSubchannelArgs args, PickFilter filter) {
      this.args = args;
      this.options = args.getCallOptions().withOption(PickFilter.CALL_OPTION, filter);
    }

    @Override
    public CallOptions getCallOptions() {
      return options;
    }

    @Override
    public Metadata getHeaders() {
      return args.getHeaders();
    }

    @Override
    public MethodDescriptor<?, ?> getMethodDescriptor() {
      return args.getMethodDescriptor();
    }

    @Override
    public PickDetailsConsumer getPickDetailsConsumer() {
      return args.getPickDetailsConsumer();
    }
  }
}
