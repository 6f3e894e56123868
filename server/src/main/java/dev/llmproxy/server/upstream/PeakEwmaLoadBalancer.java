package dev.llmproxy.server.upstream;

import io.grpc.Status;
import java.net.SocketAddress;
import java.util.List;
import java.util.function.LongSupplier;
import java.util.random.RandomGenerator;

/**
 * The {@code peak_ewma} state machine: each endpoint with its {@link PeakEwma} (decaying at the
 * config's {@code decay}), and a {@link PeakEwmaPicker} over the READY ones. An endpoint that
 * becomes READY (new, or back after failing) starts without samples.
 */
final class PeakEwmaLoadBalancer extends TwoChoiceLoadBalancer<PeakEwma> {
  private int batchSize = PeakEwmaLoadBalancerProvider.DEFAULT_BATCH_SIZE;

  PeakEwmaLoadBalancer(Helper helper) {
    this(helper, LeastOutstandingPicker.THREAD_LOCAL_RANDOM, System::nanoTime);
  }

  PeakEwmaLoadBalancer(Helper helper, RandomGenerator random, LongSupplier nanoTime) {
    super(helper, PeakEwmaLoadBalancerProvider.POLICY_NAME, random, nanoTime,
        PeakEwmaLoadBalancerProvider.DEFAULT_DECAY.toNanos());
  }

  @Override
  public Status acceptResolvedAddresses(ResolvedAddresses resolvedAddresses) {
    if (resolvedAddresses.getLoadBalancingPolicyConfig() instanceof PeakEwmaLoadBalancerProvider.Config c) {
      batchSize = c.batchSize();
    }
    return super.acceptResolvedAddresses(resolvedAddresses);
  }

  @Override
  protected long tuningNanos(Object config) {
    return config instanceof PeakEwmaLoadBalancerProvider.Config c ? c.decay().toNanos() : -1;
  }

  @Override
  protected PeakEwma newStats(LongSupplier nanoTime, long decayNanos) {
    return new PeakEwma(nanoTime, decayNanos);
  }

  @Override
  protected TwoChoicePicker newPicker(List<SubchannelPicker> pickers, List<PeakEwma> stats,
      List<List<SocketAddress>> addresses, RandomGenerator random) {
    return new PeakEwmaPicker(pickers, stats, addresses, random, batchSize);
  }
}
