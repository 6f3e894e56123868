package dev.llmproxy.server.upstream;

import static java.util.Objects.requireNonNull;

import io.grpc.Status;
import java.net.SocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.random.RandomGenerator;

/**
 * The {@code prefix_affinity} state machine: one pick_first child per endpoint and a
 * {@link PrefixAffinityPicker} over all of them (see there for the algorithm). The ring is rebuilt
 * only when the endpoint list changes, not when an endpoint's state does.
 */
final class PrefixAffinityLoadBalancer extends EndpointLoadBalancer<InFlightCounter> {
  private final RandomGenerator random;
  private double loadFactor = PrefixAffinityLoadBalancerProvider.DEFAULT_LOAD_FACTOR;
  private List<String> ringIdentities = List.of();
  private EndpointRing ring = EndpointRing.of(List.of());

  PrefixAffinityLoadBalancer(Helper helper) {
    this(helper, LeastOutstandingPicker.THREAD_LOCAL_RANDOM);
  }

  PrefixAffinityLoadBalancer(Helper helper, RandomGenerator random) {
    super(helper, PrefixAffinityLoadBalancerProvider.POLICY_NAME);
    this.random = requireNonNull(random, "random");
  }

  @Override
  public Status acceptResolvedAddresses(ResolvedAddresses resolvedAddresses) {
    double previous = loadFactor;
    if (resolvedAddresses.getLoadBalancingPolicyConfig() instanceof PrefixAffinityLoadBalancerProvider.Config c) {
      loadFactor = c.loadFactor();
    }
    Status status = super.acceptResolvedAddresses(resolvedAddresses);
    if (!status.isOk()) {
      loadFactor = previous;
    }
    return status;
  }

  @Override
  protected InFlightCounter newStats() {
    return new InFlightCounter();
  }

  @Override
  protected SubchannelPicker newPicker(List<Endpoint<InFlightCounter>> ready, List<Endpoint<InFlightCounter>> all) {
    List<String> identities = new ArrayList<>(all.size());
    List<SubchannelPicker> pickers = new ArrayList<>(all.size());
    List<InFlightCounter> counters = new ArrayList<>(all.size());
    List<List<SocketAddress>> addresses = new ArrayList<>(all.size());
    boolean[] pickable = new boolean[all.size()];
    for (int i = 0; i < all.size(); i++) {
      Endpoint<InFlightCounter> endpoint = all.get(i);
      identities.add(EndpointIdentity.of(endpoint.addresses));
      pickers.add(endpoint.picker());
      counters.add(endpoint.stats);
      addresses.add(endpoint.addresses);
      pickable[i] = ready.contains(endpoint);
    }
    if (!identities.equals(ringIdentities)) {
      ring = EndpointRing.of(identities);
      ringIdentities = identities;
    }
    List<SubchannelPicker> readyPickers = new ArrayList<>(ready.size());
    List<InFlightCounter> readyCounters = new ArrayList<>(ready.size());
    List<List<SocketAddress>> readyAddresses = new ArrayList<>(ready.size());
    for (Endpoint<InFlightCounter> endpoint : ready) {
      readyPickers.add(endpoint.picker());
      readyCounters.add(endpoint.stats);
      readyAddresses.add(endpoint.addresses);
    }
    LeastOutstandingPicker fallback = new LeastOutstandingPicker(readyPickers, readyCounters, readyAddresses,
        LeastOutstandingLoadBalancerProvider.DEFAULT_CHOICE_COUNT, random);
    return new PrefixAffinityPicker(ring, pickers, counters, addresses, pickable, loadFactor, fallback);
  }
}
