package dev.llmproxy.server.upstream;

import static java.util.Objects.requireNonNull;

import dev.llmproxy.server.config.OutlierDetection;
import io.grpc.Attributes;
import io.grpc.ConnectivityState;
import io.grpc.EquivalentAddressGroup;
import io.grpc.LoadBalancer;
import io.grpc.Status;
import io.grpc.SynchronizationContext;
import io.grpc.util.ForwardingLoadBalancerHelper;
import io.grpc.util.GracefulSwitchLoadBalancer;
import java.net.SocketAddress;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/*
 * One avoidance mechanism for every policy, in the load-balancing layer.
 *
 * What: this policy runs a child policy (least_outstanding, round_robin, pick_first, ...) and
 * wraps each picker the child publishes in an AvoidancePicker. That picker (1) keeps the pick away
 * from upstreams the route's OutlierDetector avoids (ejected after a run of faults, or busy after a
 * RESOURCE_EXHAUSTED, for the upstream's pushback) and from those the call already failed on (its
 * UpstreamAttempt), and (2) returns the pick with a stream tracer that sees how the call ended
 * (status, trailers with grpc-retry-pushback-ms), classifies it (UpstreamOutcome, after
 * UpstreamFault's judgement) and records it in the detector. Nothing outside this layer writes
 * upstream health; the detector's semantics (EjectionState) are unchanged.
 *
 * How each kind of child is kept away from an avoided upstream:
 *  - Children that read PickFilter in their pickers (least_outstanding, peak_ewma, prefix_affinity,
 *    least_loaded) get the filter in the pick's call options and choose among the upstreams not
 *    avoided (P2C samples the rest; the ring walks on).
 *  - Other children (round_robin, pick_first) do not read it. Busy and already-failed upstreams are
 *    skipped by asking the child's picker again, a bounded number of times: round robin moves on by
 *    one each time. Ejected upstreams are not shown to them at all: their addresses are withheld
 *    from the addresses the child gets until the ejection ends (a timer gives them back). Re-asking
 *    cannot work for pick_first: its picker always returns its one connection. grpc 1.85's default
 *    pick_first (PickFirstLoadBalancer; the "leaf" one is off unless
 *    GRPC_EXPERIMENTAL_ENABLE_NEW_PICK_FIRST is set) is one subchannel over all the addresses, so
 *    grpc's OutlierDetectionLoadBalancer way of showing an ejected subchannel as TRANSIENT_FAILURE
 *    would take every upstream out with it; withholding the address makes the subchannel drop the
 *    connection to it (gracefully: calls in flight finish) and connect to the next address, with
 *    either pick_first. Busy and already-failed upstreams stay a preference under pick_first: it
 *    has one connection, and moving it for one call's sake is not worth it.
 * Trying beats failing: when every upstream is avoided the pick takes one anyway, and the addresses
 * withheld never include all of them. The route's cap on ejected upstreams (max_ejection_percent)
 * stays in the detector.
 */
/**
 * The {@code llmproxy_avoidance} state machine (see {@link AvoidanceLoadBalancerProvider}). Each
 * subchannel the child creates carries its addresses in its attributes under {@link #ADDRESSES}: a
 * picker may not ask a subchannel for its addresses (grpc allows that only in the channel's
 * synchronization context), but it may read its attributes.
 */
final class AvoidanceLoadBalancer extends LoadBalancer {
  static final Attributes.Key<List<SocketAddress>> ADDRESSES = Attributes.Key.create("llmproxy-addresses");

  private final Helper helper;
  private final SynchronizationContext syncContext;
  private final RouteOutliers outliers;
  private final LongSupplier nanoClock;
  private final GracefulSwitchLoadBalancer child;
  private OutlierDetector detector = OutlierDetector.NONE;
  private boolean childReadsFilter;
  private ResolvedAddresses resolved;
  private Object childConfig;
  private volatile Set<SocketAddress> withheld = Set.of();
  private SynchronizationContext.ScheduledHandle returnTimer;
  private boolean shutdown;

  AvoidanceLoadBalancer(Helper helper, RouteOutliers outliers, LongSupplier nanoClock) {
    this.helper = requireNonNull(helper, "helper");
    this.syncContext = helper.getSynchronizationContext();
    this.outliers = requireNonNull(outliers, "outliers");
    this.nanoClock = requireNonNull(nanoClock, "nanoClock");
    this.child = new GracefulSwitchLoadBalancer(new ChildHelper());
  }

  @Override
  public Status acceptResolvedAddresses(ResolvedAddresses resolvedAddresses) {
    Config config = (Config) resolvedAddresses.getLoadBalancingPolicyConfig();
    detector = outliers.detectorFor(config.outliers(), nanoClock);
    childReadsFilter = config.childReadsFilter();
    resolved = resolvedAddresses;
    childConfig = config.child();
    Set<SocketAddress> upstreams = new HashSet<>();
    resolvedAddresses.getAddresses().forEach(group -> upstreams.addAll(group.getAddresses()));
    detector.upstreamsAre(upstreams);
    return updateChild();
  }

  @Override
  public void handleNameResolutionError(Status error) {
    child.handleNameResolutionError(error);
  }

  @Override
  public void requestConnection() {
    child.requestConnection();
  }

  @Override
  public void shutdown() {
    shutdown = true;
    cancelReturnTimer();
    child.shutdown();
  }

  /** The child's addresses, without the ejected ones if it does not read the filter. */
  private Status updateChild() {
    List<EquivalentAddressGroup> groups = resolved.getAddresses();
    Set<SocketAddress> ejected = childReadsFilter ? Set.of() : ejectedAmong(groups);
    List<EquivalentAddressGroup> shown = ejected.isEmpty() ? groups : without(groups, ejected);
    withheld = shown == groups ? Set.of() : ejected;
    scheduleReturn();
    return child.acceptResolvedAddresses(
        resolved.toBuilder().setAddresses(shown).setLoadBalancingPolicyConfig(childConfig).build());
  }

  /** Re-evaluates what is withheld, after an ejection or when one ends; in the sync context. */
  private void refreshWithheld() {
    if (shutdown || resolved == null || childReadsFilter) {
      return;
    }
    Set<SocketAddress> ejected = ejectedAmong(resolved.getAddresses());
    if (!ejected.equals(withheld)) {
      updateChild();
    } else {
      scheduleReturn();
    }
  }

  /** Called by a call's tracer when its upstream was just ejected; any thread. */
  void ejected(SocketAddress address) {
    if (!childReadsFilter && !withheld.contains(address)) {
      syncContext.execute(this::refreshWithheld);
    }
  }

  private Set<SocketAddress> ejectedAmong(List<EquivalentAddressGroup> groups) {
    Set<SocketAddress> ejected = new HashSet<>();
    for (EquivalentAddressGroup group : groups) {
      for (SocketAddress address : group.getAddresses()) {
        if (detector.isEjected(address)) {
          ejected.add(address);
        }
      }
    }
    return ejected;
  }

  /** {@code groups} without {@code ejected}; {@code groups} itself if that would leave nothing. */
  private static List<EquivalentAddressGroup> without(List<EquivalentAddressGroup> groups,
      Set<SocketAddress> ejected) {
    List<EquivalentAddressGroup> shown = new ArrayList<>(groups.size());
    for (EquivalentAddressGroup group : groups) {
      List<SocketAddress> kept = new ArrayList<>(group.getAddresses());
      kept.removeAll(ejected);
      if (!kept.isEmpty()) {
        shown.add(kept.size() == group.getAddresses().size() ? group
            : new EquivalentAddressGroup(kept, group.getAttributes()));
      }
    }
    return shown.isEmpty() ? groups : shown;
  }

  /** Schedules a refresh for when the first withheld address's ejection ends. */
  private void scheduleReturn() {
    cancelReturnTimer();
    long soonest = Long.MAX_VALUE;
    for (SocketAddress address : withheld) {
      soonest = Math.min(soonest, Math.max(1, detector.nanosUntilReturn(address)));
    }
    if (soonest != Long.MAX_VALUE) {
      returnTimer = syncContext.schedule(this::refreshWithheld, soonest, TimeUnit.NANOSECONDS,
          helper.getScheduledExecutorService());
    }
  }

  private void cancelReturnTimer() {
    if (returnTimer != null) {
      returnTimer.cancel();
      returnTimer = null;
    }
  }

  /** The parsed config: the route's outlier settings and the child policy. */
  record Config(OutlierDetection outliers, boolean childReadsFilter, Object child) {
  }

  private final class ChildHelper extends ForwardingLoadBalancerHelper {
    @Override
    protected Helper delegate() {
      return helper;
    }

    @Override
    public void updateBalancingState(ConnectivityState state, SubchannelPicker picker) {
      helper.updateBalancingState(state,
          new AvoidancePicker(picker, detector, childReadsFilter, AvoidanceLoadBalancer.this));
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
  }
}
