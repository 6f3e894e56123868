package dev.llmproxy.server.upstream;

import io.grpc.LoadBalancer.PickResult;
import io.grpc.LoadBalancer.PickSubchannelArgs;
import io.grpc.LoadBalancer.SubchannelPicker;
import java.net.SocketAddress;
import java.util.Arrays;
import java.util.List;
import java.util.random.RandomGenerator;

/*
 * Power of two choices on the engines' reported load (EngineLoad.load(): queue depth + utilization
 * + calls sent since the report). When either sampled endpoint has no fresh report (an engine that
 * does not report, a new one, or a stale report), the pair is compared on calls in flight instead,
 * as least_outstanding does: reported and unreported numbers are not comparable.
 *
 * Sampling and avoidance: TwoChoicePicker.
 */
/** Picks among the children of {@link LeastLoadedLoadBalancer}. Immutable. */
final class LeastLoadedPicker extends TwoChoicePicker {
  private final SubchannelPicker[] pickers;
  private final EngineLoad[] loads;

  LeastLoadedPicker(List<SubchannelPicker> pickers, List<EngineLoad> loads, List<List<SocketAddress>> addresses,
      RandomGenerator random) {
    super(addresses, random);
    if (pickers.isEmpty() || pickers.size() != loads.size() || pickers.size() != addresses.size()) {
      throw new IllegalArgumentException("pickers: " + pickers.size() + ", loads: " + loads.size()
          + " (expected: the same number, at least 1)");
    }
    this.pickers = pickers.toArray(new SubchannelPicker[0]);
    this.loads = loads.toArray(new EngineLoad[0]);
  }

  @Override
  public PickResult pickSubchannel(PickSubchannelArgs args) {
    PickFilter filter = args.getCallOptions().getOption(PickFilter.CALL_OPTION);
    int index = choose(filter == null || !filter.avoidsAny() ? null : filter);
    PickResult result = pickers[index].pickSubchannel(args);
    return result.getSubchannel() == null ? result : result.copyWithStreamTracerFactory(loads[index]);
  }

  @Override
  int cheaper(int a, int b) {
    double loadA = loads[a].load();
    double loadB = loads[b].load();
    if (Double.isNaN(loadA) || Double.isNaN(loadB)) {
      return loads[b].inFlight() < loads[a].inFlight() ? b : a;
    }
    return loadB < loadA ? b : a;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof LeastLoadedPicker other && random() == other.random()
        && Arrays.equals(pickers, other.pickers) && Arrays.equals(loads, other.loads);
  }

  @Override
  public int hashCode() {
    return Arrays.hashCode(pickers) * 31 + Arrays.hashCode(loads);
  }

  @Override
  public String toString() {
    return "LeastLoadedPicker{" + Arrays.toString(loads) + "}";
  }
}
