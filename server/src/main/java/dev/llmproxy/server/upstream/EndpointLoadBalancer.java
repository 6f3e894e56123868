package dev.llmproxy.server.upstream;

import static io.grpc.ConnectivityState.CONNECTING;
import static io.grpc.ConnectivityState.IDLE;
import static io.grpc.ConnectivityState.READY;
import static io.grpc.ConnectivityState.TRANSIENT_FAILURE;

import io.grpc.ConnectivityState;
import io.grpc.EquivalentAddressGroup;
import io.grpc.Status;
import io.grpc.util.MultiChildLoadBalancer;
import java.net.SocketAddress;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The state machine shared by llmproxy's own policies: one pick_first child per endpoint (resolved
 * address group), each with per-endpoint statistics {@code S} that outlive picker rebuilds, and a
 * picker over the READY ones built by the subclass.
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
 * @param <S> what the policy keeps per endpoint (in-flight counter, latency averages)
 */
abstract class EndpointLoadBalancer<S> extends MultiChildLoadBalancer {
  private final String policyName;
  private final PickResult connecting;
  private SubchannelPicker currentPicker;
  // Addresses of the children about to be created, by key; filled just before super creates them.
  private final Map<Object, List<SocketAddress>> newChildAddresses = new HashMap<>();

  EndpointLoadBalancer(Helper helper, String policyName) {
    super(helper);
    this.policyName = policyName;
    this.connecting = PickResult.withNoResult("connecting", policyName + ": connecting to upstreams");
    this.currentPicker = new FixedResultPicker(connecting);
  }

  /** New statistics for an endpoint that joins. */
  protected abstract S newStats();

  /**
   * A picker over {@code ready} (not empty: the READY endpoints, or while none is, the failing
   * ones, whose picks return their errors). {@code all} is every endpoint in resolver order.
   */
  protected abstract SubchannelPicker newPicker(List<Endpoint<S>> ready, List<Endpoint<S>> all);

  /** Called when an endpoint becomes READY after being anything else (new, or returning). */
  protected void becameReady(Endpoint<S> endpoint) {
  }

  /**
   * The subchannel that {@code endpoint}'s pick_first gets for {@code subchannel}, which it just
   * asked for: a policy may wrap it, e.g. to watch its connection (out-of-band load reports).
   */
  protected Subchannel subchannelFor(Endpoint<S> endpoint, Subchannel subchannel) {
    return subchannel;
  }

  @Override
  protected void updateOverallBalancingState() {
    List<Endpoint<S>> all = endpoints();
    List<Endpoint<S>> ready = new ArrayList<>(all.size());
    boolean connectingOrIdle = false;
    List<Endpoint<S>> failing = new ArrayList<>();
    for (Endpoint<S> endpoint : all) {
      ConnectivityState state = endpoint.state.getCurrentState();
      boolean isReady = state == READY;
      if (isReady && !endpoint.wasReady) {
        becameReady(endpoint);
      }
      endpoint.wasReady = isReady;
      if (isReady) {
        ready.add(endpoint);
      } else if (state == CONNECTING || state == IDLE) {
        connectingOrIdle = true;
      } else if (state == TRANSIENT_FAILURE) {
        failing.add(endpoint);
      }
    }
    if (!ready.isEmpty()) {
      updateBalancingState(READY, newPicker(ready, all));
    } else if (connectingOrIdle) {
      updateBalancingState(CONNECTING, new FixedResultPicker(connecting));
    } else if (!failing.isEmpty()) {
      updateBalancingState(TRANSIENT_FAILURE, newPicker(failing, all));
    } else {
      updateBalancingState(TRANSIENT_FAILURE, new FixedResultPicker(PickResult.withError(
          Status.UNAVAILABLE.withDescription(policyName + ": no upstreams"))));
    }
  }

  @SuppressWarnings("unchecked")
  private List<Endpoint<S>> endpoints() {
    List<Endpoint<S>> endpoints = new ArrayList<>();
    for (ChildLbState child : getChildLbStates()) {
      endpoints.add(((EndpointState) child).endpoint);
    }
    return endpoints;
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

  private void updateBalancingState(ConnectivityState state, SubchannelPicker picker) {
    // Children report often (every connection attempt); skip updates that change nothing.
    if (state != currentConnectivityState || !picker.equals(currentPicker)) {
      getHelper().updateBalancingState(state, picker);
      currentConnectivityState = state;
      currentPicker = picker;
    }
  }

  /** One endpoint as a picker sees it: its child's state and picker, addresses and statistics. */
  static final class Endpoint<S> {
    final List<SocketAddress> addresses;
    final S stats;
    private final ChildLbState state;
    private boolean wasReady;

    private Endpoint(ChildLbState state, List<SocketAddress> addresses, S stats) {
      this.state = state;
      this.addresses = addresses;
      this.stats = stats;
    }

    SubchannelPicker picker() {
      return state.getCurrentPicker();
    }

    boolean isReady() {
      return state.getCurrentState() == READY;
    }
  }

  private final class EndpointState extends ChildLbState {
    final Endpoint<S> endpoint;

    EndpointState(Object key, List<SocketAddress> addresses) {
      super(key, pickFirstLbProvider);
      this.endpoint = new Endpoint<>(this, addresses, newStats());
    }

    @Override
    protected ChildLbStateHelper createChildHelper() {
      return new ChildLbStateHelper() {
        @Override
        public Subchannel createSubchannel(CreateSubchannelArgs args) {
          return subchannelFor(endpoint, super.createSubchannel(args));
        }

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
