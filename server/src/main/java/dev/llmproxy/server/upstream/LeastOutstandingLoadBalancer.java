package dev.llmproxy.server.upstream;

import static io.grpc.ConnectivityState.CONNECTING;
import static io.grpc.ConnectivityState.IDLE;
import static io.grpc.ConnectivityState.READY;
import static io.grpc.ConnectivityState.TRANSIENT_FAILURE;
import static java.util.Objects.requireNonNull;

import io.grpc.ConnectivityState;
import io.grpc.EquivalentAddressGroup;
import io.grpc.Status;
import io.grpc.util.MultiChildLoadBalancer;
import java.net.SocketAddress;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.random.RandomGenerator;

/**
 * The {@code least_outstanding} state machine: one pick_first child per endpoint (resolved address
 * group), and a {@link LeastOutstandingPicker} over the READY ones.
 *
 * <ul>
 *   <li>Some child READY: READY, picking among the READY children only.
 *   <li>None READY, some CONNECTING or IDLE: CONNECTING; calls wait (or fail fast without
 *       wait-for-ready) until a child is READY.
 *   <li>All in TRANSIENT_FAILURE: TRANSIENT_FAILURE; a pick returns the error of a failing child,
 *       e.g. "connection refused" or "health-check service responded NOT_SERVING".
 * </ul>
 * A child that drops to IDLE (its connection closed) is asked to reconnect at once, as round_robin
 * does, so a backend that restarts comes back without waiting for a call to poke it.
 *
 * <p>Extends {@link MultiChildLoadBalancer}, the base of grpc-java's own round_robin and
 * least_request. It is {@code @Internal}: its API may change in any minor release, so the grpc
 * version is pinned in the parent pom and an upgrade must re-run this package's tests.
 *
 * <p>Client-side health checking is not done here: {@link LeastOutstandingLoadBalancerProvider}
 * wraps this balancer so that a child only sees READY once its backend's health service says
 * SERVING.
 */
final class LeastOutstandingLoadBalancer extends MultiChildLoadBalancer {
  private static final PickResult CONNECTING_RESULT =
      PickResult.withNoResult("connecting", "least_outstanding: connecting to upstreams");

  private final RandomGenerator random;
  private int choiceCount = LeastOutstandingLoadBalancerProvider.DEFAULT_CHOICE_COUNT;
  private SubchannelPicker currentPicker = new FixedResultPicker(CONNECTING_RESULT);
  // Addresses of the children about to be created, by key; filled just before super creates them.
  private final Map<Object, List<SocketAddress>> newChildAddresses = new HashMap<>();

  LeastOutstandingLoadBalancer(Helper helper) {
    this(helper, LeastOutstandingPicker.THREAD_LOCAL_RANDOM);
  }

  LeastOutstandingLoadBalancer(Helper helper, RandomGenerator random) {
    super(helper);
    this.random = requireNonNull(random, "random");
  }

  @Override
  public Status acceptResolvedAddresses(ResolvedAddresses resolvedAddresses) {
    // The new choiceCount must be in place before super builds the picker; undo it if rejected.
    int previous = choiceCount;
    Object config = resolvedAddresses.getLoadBalancingPolicyConfig();
    if (config instanceof LeastOutstandingLoadBalancerProvider.Config) {
      choiceCount = ((LeastOutstandingLoadBalancerProvider.Config) config).choiceCount();
    }
    Status status = super.acceptResolvedAddresses(resolvedAddresses);
    if (!status.isOk()) {
      choiceCount = previous;
    }
    return status;
  }

  @Override
  protected void updateOverallBalancingState() {
    List<ChildLbState> ready = getReadyChildren();
    if (!ready.isEmpty()) {
      updateBalancingState(READY, newPicker(ready));
      return;
    }
    boolean connecting = false;
    List<ChildLbState> failing = new ArrayList<>();
    for (ChildLbState child : getChildLbStates()) {
      ConnectivityState state = child.getCurrentState();
      if (state == CONNECTING || state == IDLE) {
        connecting = true;
      } else if (state == TRANSIENT_FAILURE) {
        failing.add(child);
      }
    }
    if (connecting) {
      updateBalancingState(CONNECTING, new FixedResultPicker(CONNECTING_RESULT));
    } else if (!failing.isEmpty()) {
      updateBalancingState(TRANSIENT_FAILURE, newPicker(failing));
    } else {
      updateBalancingState(TRANSIENT_FAILURE, new FixedResultPicker(PickResult.withError(
          Status.UNAVAILABLE.withDescription("least_outstanding: no upstreams"))));
    }
  }

  @Override
  protected Map<Object, ResolvedAddresses> createChildAddressesMap(ResolvedAddresses resolvedAddresses) {
    Map<Object, ResolvedAddresses> children = super.createChildAddressesMap(resolvedAddresses);
    newChildAddresses.clear();
    for (Map.Entry<Object, ResolvedAddresses> child : children.entrySet()) {
      List<SocketAddress> addresses = new ArrayList<>();
      for (EquivalentAddressGroup eag : child.getValue().getAddresses()) {
        addresses.addAll(eag.getAddresses());
      }
      newChildAddresses.put(child.getKey(), List.copyOf(addresses));
    }
    return children;
  }

  @Override
  protected ChildLbState createChildLbState(Object key) {
    return new EndpointState(key, newChildAddresses.getOrDefault(key, List.of()));
  }

  int choiceCount() {
    return choiceCount;
  }

  private SubchannelPicker newPicker(List<ChildLbState> children) {
    List<SubchannelPicker> pickers = new ArrayList<>(children.size());
    List<InFlightCounter> counters = new ArrayList<>(children.size());
    List<List<SocketAddress>> addresses = new ArrayList<>(children.size());
    for (ChildLbState child : children) {
      pickers.add(child.getCurrentPicker());
      counters.add(((EndpointState) child).inFlight);
      addresses.add(((EndpointState) child).addresses);
    }
    return new LeastOutstandingPicker(pickers, counters, addresses, choiceCount, random);
  }

  private void updateBalancingState(ConnectivityState state, SubchannelPicker picker) {
    // Children report often (every connection attempt); skip updates that change nothing.
    if (state != currentConnectivityState || !picker.equals(currentPicker)) {
      getHelper().updateBalancingState(state, picker);
      currentConnectivityState = state;
      currentPicker = picker;
    }
  }

  /** One endpoint: its pick_first child, its addresses and the count of calls in flight to it. */
  private final class EndpointState extends ChildLbState {
    final InFlightCounter inFlight = new InFlightCounter();
    final List<SocketAddress> addresses;

    EndpointState(Object key, List<SocketAddress> addresses) {
      super(key, pickFirstLbProvider);
      this.addresses = addresses;
    }

    @Override
    protected ChildLbStateHelper createChildHelper() {
      return new ChildLbStateHelper() {
        @Override
        public void updateBalancingState(ConnectivityState newState, SubchannelPicker newPicker) {
          super.updateBalancingState(newState, newPicker);
          if (!resolvingAddresses && newState == IDLE) {
            getLb().requestConnection();
          }
        }
      };
    }
  }
}
