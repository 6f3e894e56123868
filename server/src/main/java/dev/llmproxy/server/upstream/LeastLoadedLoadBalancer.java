package dev.llmproxy.server.upstream;

import java.net.SocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.function.LongSupplier;
import java.util.random.RandomGenerator;

/**
 * The {@code least_loaded} state machine: each endpoint with its {@link EngineLoad} (reports
 * counting for the config's {@code report_ttl}), and a {@link LeastLoadedPicker} over the READY
 * ones. An endpoint that becomes READY (new, or back after failing) starts without a report.
 * With out-of-band reports on, each endpoint's subchannel keeps an {@link OrcaOobStream} to its
 * backend that feeds the same {@link EngineLoad} as the per-call trailers; endpoints created from
 * then on get the config's setting, as for the TTL.
 */
final class LeastLoadedLoadBalancer extends TwoChoiceLoadBalancer<EngineLoad> {
  private static final Duration BACKOFF_INITIAL = Duration.ofSeconds(1);
  private static final Duration BACKOFF_MAX = Duration.ofMinutes(2);
  private static final double BACKOFF_MULTIPLIER = 1.6;

  private Duration oobPeriod;

  LeastLoadedLoadBalancer(Helper helper) {
    this(helper, LeastOutstandingPicker.THREAD_LOCAL_RANDOM, System::nanoTime);
  }

  LeastLoadedLoadBalancer(Helper helper, RandomGenerator random, LongSupplier nanoTime) {
    super(helper, LeastLoadedLoadBalancerProvider.POLICY_NAME, random, nanoTime,
        LeastLoadedLoadBalancerProvider.DEFAULT_REPORT_TTL.toNanos());
  }

  @Override
  public io.grpc.Status acceptResolvedAddresses(ResolvedAddresses resolvedAddresses) {
    if (resolvedAddresses.getLoadBalancingPolicyConfig() instanceof LeastLoadedLoadBalancerProvider.Config c) {
      oobPeriod = c.oobPeriod();
    }
    return super.acceptResolvedAddresses(resolvedAddresses);
  }

  @Override
  protected Subchannel subchannelFor(Endpoint<EngineLoad> endpoint, Subchannel subchannel) {
    if (oobPeriod == null) {
      return subchannel;
    }
    OrcaOobStream stream = new OrcaOobStream(getHelper().getSynchronizationContext(),
        getHelper().getScheduledExecutorService(), subchannel::asChannel, oobPeriod, endpoint.stats::report,
        new ExponentialBackoff(BACKOFF_INITIAL, BACKOFF_MAX, BACKOFF_MULTIPLIER,
            LeastOutstandingPicker.THREAD_LOCAL_RANDOM),
        endpoint.addresses::toString);
    return new OrcaOobSubchannel(subchannel, stream);
  }

  @Override
  protected long tuningNanos(Object config) {
    return config instanceof LeastLoadedLoadBalancerProvider.Config c ? c.reportTtl().toNanos() : -1;
  }

  @Override
  protected EngineLoad newStats(LongSupplier nanoTime, long reportTtlNanos) {
    return new EngineLoad(nanoTime, reportTtlNanos);
  }

  @Override
  protected TwoChoicePicker newPicker(List<SubchannelPicker> pickers, List<EngineLoad> loads,
      List<List<SocketAddress>> addresses, RandomGenerator random) {
    return new LeastLoadedPicker(pickers, loads, addresses, random);
  }
}
