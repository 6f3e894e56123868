package dev.llmproxy.server.upstream;

import io.grpc.LoadBalancer.PickResult;
import io.grpc.LoadBalancer.PickSubchannelArgs;
import io.grpc.LoadBalancer.SubchannelPicker;
import java.net.SocketAddress;
import java.util.Arrays;
import java.util.List;
import java.util.random.RandomGenerator;

/*
 * Power of two choices on cost = expected latency x (1 + calls in flight / batch size); with a batch
 * size of 1 (the default) that is Finagle's Peak EWMA, latency x (calls in flight + 1).
 *
 * Why a batch size: Finagle's factor prices every call in flight as a whole extra latency, right for a
 * server that works through its calls one after another. An LLM engine runs a batch of calls at once,
 * and a call more in its batch barely slows the others: with (in flight + 1), an engine three times
 * slower than the rest still takes about a third of a fast engine's calls (measured: 5% of all calls
 * in the routing benchmark's slow-engine variant, and the p99 of the whole fleet is its cache misses).
 * Dividing by the batch size prices a call in flight as the share of the engine it takes, so the slow
 * engine is chosen only once the fast ones' batches are full and their latency shows it.
 *
 * Expected latency = TTFT average + ITL_TOKENS x ITL average: what a new call would wait for its
 * first token plus a short answer's worth of tokens, so an engine whose batches slowed down (long
 * inter-token gaps) is avoided as well as one that queues. Where one of the two sampled endpoints
 * has no average yet (new or returning), it borrows the other's: the comparison falls to calls in
 * flight alone, neither favouring the newcomer (which would flood it) nor starving it.
 *
 * Sampling and avoidance: TwoChoicePicker.
 */
/** Picks among the children of {@link PeakEwmaLoadBalancer}. Immutable. */
final class PeakEwmaPicker extends TwoChoicePicker {
  /** Tokens of inter-token latency counted into the expected latency. */
  static final int ITL_TOKENS = 16;

  private final SubchannelPicker[] pickers;
  private final PeakEwma[] stats;
  private final double batchSize;

  PeakEwmaPicker(List<SubchannelPicker> pickers, List<PeakEwma> stats, List<List<SocketAddress>> addresses,
      RandomGenerator random, int batchSize) {
    super(addresses, random);
    if (batchSize < 1) {
      throw new IllegalArgumentException("batchSize: " + batchSize + " (expected: at least 1)");
    }
    this.batchSize = batchSize;
    if (pickers.isEmpty() || pickers.size() != stats.size() || pickers.size() != addresses.size()) {
      throw new IllegalArgumentException("pickers: " + pickers.size() + ", stats: " + stats.size()
          + " (expected: the same number, at least 1)");
    }
    this.pickers = pickers.toArray(new SubchannelPicker[0]);
    this.stats = stats.toArray(new PeakEwma[0]);
  }

  @Override
  public PickResult pickSubchannel(PickSubchannelArgs args) {
    PickFilter filter = args.getCallOptions().getOption(PickFilter.CALL_OPTION);
    int index = choose(filter == null || !filter.avoidsAny() ? null : filter);
    PickResult result = pickers[index].pickSubchannel(args);
    return result.getSubchannel() == null ? result : result.copyWithStreamTracerFactory(stats[index]);
  }

  /** The cheaper of two endpoints; ties go to {@code a}, which is random. */
  @Override
  int cheaper(int a, int b) {
    double ttftA = stats[a].ttft();
    double ttftB = stats[b].ttft();
    double itlA = stats[a].itl();
    double itlB = stats[b].itl();
    // One without an average borrows the other's (neutral); both without: in-flight decides.
    double latencyA = orElse(ttftA, ttftB, 0) + ITL_TOKENS * orElse(itlA, itlB, 0);
    double latencyB = orElse(ttftB, ttftA, 0) + ITL_TOKENS * orElse(itlB, itlA, 0);
    // Below a microsecond latencies are noise; floor them so in-flight still counts.
    double costA = Math.max(latencyA, 1_000) * (1 + stats[a].inFlight() / batchSize);
    double costB = Math.max(latencyB, 1_000) * (1 + stats[b].inFlight() / batchSize);
    return costB < costA ? b : a;
  }

  private static double orElse(double value, double other, double none) {
    return !Double.isNaN(value) ? value : !Double.isNaN(other) ? other : none;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof PeakEwmaPicker other && random() == other.random() && batchSize == other.batchSize
        && Arrays.equals(pickers, other.pickers) && Arrays.equals(stats, other.stats);
  }

  @Override
  public int hashCode() {
    return Arrays.hashCode(pickers) * 31 + Arrays.hashCode(stats);
  }

  @Override
  public String toString() {
    return "PeakEwmaPicker{" + Arrays.toString(stats) + "}";
  }
}
