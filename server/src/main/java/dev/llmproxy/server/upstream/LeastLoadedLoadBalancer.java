package dev.llmproxy.server.upstream;

import static java.util.Objects.requireNonNull;

import io.grpc.Status;
import java.net.SocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.function.LongSupplier;
import java.util.random.RandomGenerator;

/**
 * The {@code least_loaded} state machine: one pick_first child per endpoint, each with its
 * {@link EngineLoad}, and a {@link LeastLoadedPicker} over the READY ones. An endpoint that becomes
 * READY (new, or back after failing) starts without a report.
 */
final class LeastLoadedLoadBalancer extends EndpointLoadBalancer<EngineLoad> {
  private final RandomGenerator random;
  private final LongSupplier nanoTime;
  private long reportTtlNanos = LeastLoadedLoadBalancerProvider.DEFAULT_REPORT_TTL.toNanos();

  LeastLoadedLoadBalancer(Helper helper) {
    this(helper, LeastOutstandingPicker.THREAD_LOCAL_RANDOM, System::nanoTime);
  }

  LeastLoadedLoadBalancer(Helper helper, RandomGenerator random, LongSupplier nanoTime) {
    super(helper, LeastLoadedLoadBalancerProvider.POLICY_NAME);
    this.random = requireNonNull(random, "random");
    this.nanoTime = requireNonNull(nanoTime, "nanoTime");
  }

  @Override
  public Status acceptResolvedAddresses(ResolvedAddresses resolvedAddresses) {
    // Endpoints created from here on use the new TTL; existing ones keep theirs.
    if (resolvedAddresses.getLoadBalancingPolicyConfig() instanceof LeastLoadedLoadBalancerProvider.Config c) {
      reportTtlNanos = c.reportTtl().toNanos();
    }
    return super.acceptResolvedAddresses(resolvedAddresses);
  }

  @Override
  protected EngineLoad newStats() {
    return new EngineLoad(nanoTime, reportTtlNanos);
  }

  @Override
  protected void becameReady(Endpoint<EngineLoad> endpoint) {
    endpoint.stats.reset();
  }

  @Override
  protected SubchannelPicker newPicker(List<Endpoint<EngineLoad>> ready, List<Endpoint<EngineLoad>> all) {
    List<SubchannelPicker> pickers = new ArrayList<>(ready.size());
    List<EngineLoad> loads = new ArrayList<>(ready.size());
    List<List<SocketAddress>> addresses = new ArrayList<>(ready.size());
    for (Endpoint<EngineLoad> endpoint : ready) {
      pickers.add(endpoint.picker());
      loads.add(endpoint.stats);
      addresses.add(endpoint.addresses);
    }
    return new LeastLoadedPicker(pickers, loads, addresses, random);
  }
}
