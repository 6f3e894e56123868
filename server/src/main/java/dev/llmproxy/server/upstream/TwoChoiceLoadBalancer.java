package dev.llmproxy.server.upstream;

import static java.util.Objects.requireNonNull;

import io.grpc.Status;
import java.net.SocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.function.LongSupplier;
import java.util.random.RandomGenerator;

/**
 * The state machine of the policies that compare two random upstreams on a cost each one's
 * statistics keep ({@code peak_ewma}, {@code least_loaded}): one pick_first child per endpoint,
 * statistics per endpoint timed by one clock and tuned by one duration from the policy's config,
 * and a {@link TwoChoicePicker} over the READY ones. An endpoint that becomes READY (new, or back
 * after failing) starts with its statistics reset.
 *
 * @param <S> an endpoint's statistics
 */
abstract class TwoChoiceLoadBalancer<S extends TwoChoiceLoadBalancer.Stats> extends EndpointLoadBalancer<S> {
  /** Statistics that an endpoint back from failing starts over with. */
  interface Stats {
    void reset();
  }

  private final RandomGenerator random;
  private final LongSupplier nanoTime;
  private long tuningNanos;

  /** @param tuningNanos the config's duration until a config says otherwise */
  TwoChoiceLoadBalancer(Helper helper, String policyName, RandomGenerator random, LongSupplier nanoTime,
      long tuningNanos) {
    super(helper, policyName);
    this.random = requireNonNull(random, "random");
    this.nanoTime = requireNonNull(nanoTime, "nanoTime");
    this.tuningNanos = tuningNanos;
  }

  /** The duration {@code config} sets, in nanoseconds, or -1 if it is not this policy's config. */
  protected abstract long tuningNanos(Object config);

  /** Statistics of a new endpoint. */
  protected abstract S newStats(LongSupplier nanoTime, long tuningNanos);

  /** The picker over the READY endpoints' pickers, statistics and addresses. */
  protected abstract TwoChoicePicker newPicker(List<SubchannelPicker> pickers, List<S> stats,
      List<List<SocketAddress>> addresses, RandomGenerator random);

  @Override
  public Status acceptResolvedAddresses(ResolvedAddresses resolvedAddresses) {
    // Endpoints created from here on use the new setting; existing ones keep theirs.
    long tuning = tuningNanos(resolvedAddresses.getLoadBalancingPolicyConfig());
    if (tuning >= 0) {
      tuningNanos = tuning;
    }
    return super.acceptResolvedAddresses(resolvedAddresses);
  }

  @Override
  protected final S newStats() {
    return newStats(nanoTime, tuningNanos);
  }

  @Override
  protected final void becameReady(Endpoint<S> endpoint) {
    endpoint.stats.reset();
  }

  @Override
  protected final SubchannelPicker newPicker(List<Endpoint<S>> ready, List<Endpoint<S>> all) {
    List<SubchannelPicker> pickers = new ArrayList<>(ready.size());
    List<S> stats = new ArrayList<>(ready.size());
    List<List<SocketAddress>> addresses = new ArrayList<>(ready.size());
    for (Endpoint<S> endpoint : ready) {
      pickers.add(endpoint.picker());
      stats.add(endpoint.stats);
      addresses.add(endpoint.addresses);
    }
    return newPicker(pickers, stats, addresses, random);
  }
}
