package dev.llmproxy.server.upstream;

import static java.util.Objects.requireNonNull;

import io.grpc.Status;
import java.net.SocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.function.LongSupplier;
import java.util.random.RandomGenerator;

/**
 * The {@code prefix_affinity} state machine: one pick_first child per endpoint, each with its
 * {@link EngineLoad} (calls in flight, and the engine's load reports for {@code least_loaded}'s
 * default {@code report_ttl}), and a {@link PrefixAffinityPicker} over all of them (see there for the
 * algorithm). The ring is rebuilt only when the endpoint list changes, not when an endpoint's state
 * does. An endpoint that becomes READY (new, or back after failing) starts without a report.
 */
final class PrefixAffinityLoadBalancer extends EndpointLoadBalancer<EngineLoad> {
  private final RandomGenerator random;
  private final LongSupplier nanoTime;
  private double loadFactor = PrefixAffinityLoadBalancerProvider.DEFAULT_LOAD_FACTOR;
  private List<String> ringIdentities = List.of();
  private EndpointRing ring = EndpointRing.of(List.of());

  PrefixAffinityLoadBalancer(Helper helper) {
    this(helper, LeastOutstandingPicker.THREAD_LOCAL_RANDOM, System::nanoTime);
  }

  PrefixAffinityLoadBalancer(Helper helper, RandomGenerator random, LongSupplier nanoTime) {
    super(helper, PrefixAffinityLoadBalancerProvider.POLICY_NAME);
    this.random = requireNonNull(random, "random");
    this.nanoTime = requireNonNull(nanoTime, "nanoTime");
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
  protected EngineLoad newStats() {
    return new EngineLoad(nanoTime, LeastLoadedLoadBalancerProvider.DEFAULT_REPORT_TTL.toNanos());
  }

  @Override
  protected void becameReady(Endpoint<EngineLoad> endpoint) {
    endpoint.stats.reset();
  }

  @Override
  protected SubchannelPicker newPicker(List<Endpoint<EngineLoad>> ready, List<Endpoint<EngineLoad>> all) {
    List<String> identities = new ArrayList<>(all.size());
    List<SubchannelPicker> pickers = new ArrayList<>(all.size());
    List<EngineLoad> loads = new ArrayList<>(all.size());
    List<List<SocketAddress>> addresses = new ArrayList<>(all.size());
    boolean[] pickable = new boolean[all.size()];
    for (int i = 0; i < all.size(); i++) {
      Endpoint<EngineLoad> endpoint = all.get(i);
      identities.add(EndpointIdentity.of(endpoint.addresses));
      pickers.add(endpoint.picker());
      loads.add(endpoint.stats);
      addresses.add(endpoint.addresses);
      pickable[i] = ready.contains(endpoint);
    }
    if (!identities.equals(ringIdentities)) {
      ring = EndpointRing.of(identities);
      ringIdentities = identities;
    }
    List<SubchannelPicker> readyPickers = new ArrayList<>(ready.size());
    List<EngineLoad> readyLoads = new ArrayList<>(ready.size());
    List<List<SocketAddress>> readyAddresses = new ArrayList<>(ready.size());
    for (Endpoint<EngineLoad> endpoint : ready) {
      readyPickers.add(endpoint.picker());
      readyLoads.add(endpoint.stats);
      readyAddresses.add(endpoint.addresses);
    }
    LeastLoadedPicker fallback = new LeastLoadedPicker(readyPickers, readyLoads, readyAddresses, random);
    return new PrefixAffinityPicker(ring, pickers, loads, addresses, pickable, loadFactor, fallback);
  }
}
