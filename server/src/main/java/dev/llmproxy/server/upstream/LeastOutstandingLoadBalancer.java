package dev.llmproxy.server.upstream;

import static java.util.Objects.requireNonNull;

import io.grpc.Status;
import java.net.SocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.random.RandomGenerator;

/**
 * The {@code least_outstanding} state machine: one pick_first child per endpoint, and a
 * {@link LeastOutstandingPicker} over the READY ones (see {@link EndpointLoadBalancer} for the
 * states).
 *
 * <p>Client-side health checking is not done here: {@link LeastOutstandingLoadBalancerProvider}
 * wraps this balancer so that a child only sees READY once its backend's health service says
 * SERVING.
 */
final class LeastOutstandingLoadBalancer extends EndpointLoadBalancer<InFlightCounter> {
  private final RandomGenerator random;
  private int choiceCount = LeastOutstandingLoadBalancerProvider.DEFAULT_CHOICE_COUNT;

  LeastOutstandingLoadBalancer(Helper helper) {
    this(helper, LeastOutstandingPicker.THREAD_LOCAL_RANDOM);
  }

  LeastOutstandingLoadBalancer(Helper helper, RandomGenerator random) {
    super(helper, LeastOutstandingLoadBalancerProvider.POLICY_NAME);
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

  int choiceCount() {
    return choiceCount;
  }

  @Override
  protected InFlightCounter newStats() {
    return new InFlightCounter();
  }

  @Override
  protected SubchannelPicker newPicker(List<Endpoint<InFlightCounter>> ready,
      List<Endpoint<InFlightCounter>> all) {
    List<SubchannelPicker> pickers = new ArrayList<>(ready.size());
    List<InFlightCounter> counters = new ArrayList<>(ready.size());
    List<List<SocketAddress>> addresses = new ArrayList<>(ready.size());
    for (Endpoint<InFlightCounter> endpoint : ready) {
      pickers.add(endpoint.picker());
      counters.add(endpoint.stats);
      addresses.add(endpoint.addresses);
    }
    return new LeastOutstandingPicker(pickers, counters, addresses, choiceCount, random);
  }
}
