package dev.llmproxy.server.upstream;

import static java.util.Objects.requireNonNull;

import io.grpc.Status;
import java.net.SocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.function.LongSupplier;
import java.util.random.RandomGenerator;

/**
 * The {@code peak_ewma} state machine: one pick_first child per endpoint, each with its
 * {@link PeakEwma}, and a {@link PeakEwmaPicker} over the READY ones. An endpoint that becomes
 * READY (new, or back after failing) starts without samples.
 */
final class PeakEwmaLoadBalancer extends EndpointLoadBalancer<PeakEwma> {
  private final RandomGenerator random;
  private final LongSupplier nanoTime;
  private long decayNanos = PeakEwmaLoadBalancerProvider.DEFAULT_DECAY.toNanos();

  PeakEwmaLoadBalancer(Helper helper) {
    this(helper, LeastOutstandingPicker.THREAD_LOCAL_RANDOM, System::nanoTime);
  }

  PeakEwmaLoadBalancer(Helper helper, RandomGenerator random, LongSupplier nanoTime) {
    super(helper, PeakEwmaLoadBalancerProvider.POLICY_NAME);
    this.random = requireNonNull(random, "random");
    this.nanoTime = requireNonNull(nanoTime, "nanoTime");
  }

  @Override
  public Status acceptResolvedAddresses(ResolvedAddresses resolvedAddresses) {
    // Endpoints created from here on decay at the new rate; existing ones keep theirs.
    if (resolvedAddresses.getLoadBalancingPolicyConfig() instanceof PeakEwmaLoadBalancerProvider.Config c) {
      decayNanos = c.decay().toNanos();
    }
    return super.acceptResolvedAddresses(resolvedAddresses);
  }

  @Override
  protected PeakEwma newStats() {
    return new PeakEwma(nanoTime, decayNanos);
  }

  @Override
  protected void becameReady(Endpoint<PeakEwma> endpoint) {
    endpoint.stats.reset();
  }

  @Override
  protected SubchannelPicker newPicker(List<Endpoint<PeakEwma>> ready, List<Endpoint<PeakEwma>> all) {
    List<SubchannelPicker> pickers = new ArrayList<>(ready.size());
    List<PeakEwma> stats = new ArrayList<>(ready.size());
    List<List<SocketAddress>> addresses = new ArrayList<>(ready.size());
    for (Endpoint<PeakEwma> endpoint : ready) {
      pickers.add(endpoint.picker());
      stats.add(endpoint.stats);
      addresses.add(endpoint.addresses);
    }
    return new PeakEwmaPicker(pickers, stats, addresses, random);
  }
}
