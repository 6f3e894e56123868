package dev.llmproxy.server.upstream;

import java.net.SocketAddress;
import java.util.List;
import java.util.function.LongSupplier;
import java.util.random.RandomGenerator;

/**
 * The {@code least_loaded} state machine: each endpoint with its {@link EngineLoad} (reports
 * counting for the config's {@code report_ttl}), and a {@link LeastLoadedPicker} over the READY
 * ones. An endpoint that becomes READY (new, or back after failing) starts without a report.
 */
final class LeastLoadedLoadBalancer extends TwoChoiceLoadBalancer<EngineLoad> {
  LeastLoadedLoadBalancer(Helper helper) {
    this(helper, LeastOutstandingPicker.THREAD_LOCAL_RANDOM, System::nanoTime);
  }

  LeastLoadedLoadBalancer(Helper helper, RandomGenerator random, LongSupplier nanoTime) {
    super(helper, LeastLoadedLoadBalancerProvider.POLICY_NAME, random, nanoTime,
        LeastLoadedLoadBalancerProvider.DEFAULT_REPORT_TTL.toNanos());
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
