package dev.llmproxy.server.upstream;

import static java.util.Objects.requireNonNull;

import io.grpc.LoadBalancer.PickResult;
import io.grpc.LoadBalancer.PickSubchannelArgs;
import io.grpc.LoadBalancer.SubchannelPicker;
import java.net.SocketAddress;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.random.RandomGenerator;

/*
 * Power of two choices (P2C) over calls in flight.
 *
 * What: for each call, sample `choiceCount` (default 2) distinct endpoints at random and send the
 * call to the one with the fewest calls in flight; ties go to a random one of the tied endpoints.
 *
 * Why in-flight calls: LLM calls differ in length by three orders of magnitude (a 5-token
 * classification next to a 4,000-token essay), so "how many requests did this backend get" says
 * little about its load, while "how many generations is it running right now" is close to what
 * fills its GPU batch and KV cache. Round robin keeps sending a backend its share even while it is
 * stuck on long generations; counting in-flight calls steers around it, and a backend that is slow
 * for any reason (thermal throttling, a noisy neighbour, a bigger model) ends up with fewer calls.
 *
 * Why two random choices rather than the global minimum: every pick would otherwise see the same
 * minimum and pile onto one endpoint until its counter catches up (herding), and finding the
 * minimum costs O(n). Two random choices give an exponentially better maximum load than one random
 * choice (Mitzenmacher, "The Power of Two Choices in Randomized Load Balancing", 2001) at O(1) and
 * with no shared state but the counters. With `choiceCount` >= the number of endpoints this is the
 * least-loaded endpoint with random tie-breaking.
 *
 * Distinct samples (Floyd's subset sampling over a 64-bit mask, so no allocation) matter for the
 * small pools typical of LLM backends: with replacement, a 2-endpoint pool would send a quarter of
 * the calls to the busier endpoint regardless of load. Pools above 64 endpoints sample with
 * replacement; duplicates are then rare (about choiceCount^2 / 2n).
 *
 * Counts are read without locking and may be a few calls stale under concurrency; that is fine for
 * a heuristic and is why the picker can be immutable and shared by every thread.
 *
 * Avoidance: a call may carry a PickFilter (ejected or busy upstreams, and those that already failed
 * this call). Sampled endpoints the filter avoids are passed over; if every sampled one is avoided,
 * the least loaded endpoint that is not avoided is taken (a scan, rare: only while an upstream is
 * avoided and the sample hit it alone); if every endpoint is avoided, the filter is ignored, because
 * trying an avoided upstream beats failing the call.
 */
/**
 * Picks among the children of {@link LeastOutstandingLoadBalancer} by power of two choices over
 * calls in flight. Immutable; a new picker is built whenever a child's state changes.
 */
final class LeastOutstandingPicker extends SubchannelPicker {

  /** Thread-safe and uncontended: every call draws from the calling thread's generator. */
  static final RandomGenerator THREAD_LOCAL_RANDOM = () -> ThreadLocalRandom.current().nextLong();

  private static final int MAX_DISTINCT_SAMPLING = Long.SIZE;

  private final SubchannelPicker[] childPickers;
  private final InFlightCounter[] counters; // 1:1 with childPickers
  private final List<List<SocketAddress>> addresses; // 1:1 with childPickers
  private final int choiceCount;
  private final RandomGenerator random;
  private final int hashCode;

  /**
   * @param childPickers the pickers of the children to choose among, not empty
   * @param counters the in-flight counters of those children, in the same order
   * @param choiceCount how many children to sample per pick, at least 2
   * @param random the random source; must be safe for concurrent use
   */
  LeastOutstandingPicker(List<SubchannelPicker> childPickers, List<InFlightCounter> counters,
      int choiceCount, RandomGenerator random) {
    this(childPickers, counters, Collections.nCopies(childPickers.size(), List.of()), choiceCount, random);
  }

  /**
   * @param addresses the addresses of each child, in the same order, for calls that carry a
   *     {@link PickFilter}
   */
  LeastOutstandingPicker(List<SubchannelPicker> childPickers, List<InFlightCounter> counters,
      List<List<SocketAddress>> addresses, int choiceCount, RandomGenerator random) {
    if (childPickers.isEmpty() || childPickers.size() != counters.size()
        || childPickers.size() != addresses.size()) {
      throw new IllegalArgumentException("childPickers: " + childPickers.size() + ", counters: "
          + counters.size() + " (expected: the same number, at least 1)");
    }
    if (choiceCount < 2) {
      throw new IllegalArgumentException("choiceCount: " + choiceCount + " (expected: >= 2)");
    }
    this.childPickers = childPickers.toArray(new SubchannelPicker[0]);
    this.counters = counters.toArray(new InFlightCounter[0]);
    this.addresses = List.copyOf(addresses);
    this.choiceCount = choiceCount;
    this.random = requireNonNull(random, "random");
    this.hashCode = 31 * (31 * Arrays.hashCode(this.childPickers)
        + Arrays.hashCode(this.counters)) + choiceCount;
  }

  @Override
  public PickResult pickSubchannel(PickSubchannelArgs args) {
    PickFilter filter = args.getCallOptions().getOption(PickFilter.CALL_OPTION);
    int index = nextIndex(filter == null || !filter.avoidsAny() ? null : filter);
    PickResult result = childPickers[index].pickSubchannel(args);
    if (result.getSubchannel() == null) {
      return result; // the child is connecting or failing; its answer stands
    }
    // Children are pick_first, which sets no tracer of its own, so nothing is replaced here.
    return result.copyWithStreamTracerFactory(counters[index]);
  }

  private int nextIndex(PickFilter filter) {
    int n = counters.length;
    if (n == 1) {
      return 0;
    }
    int index = n <= MAX_DISTINCT_SAMPLING ? leastLoadedOfDistinctSample(n, filter)
        : leastLoadedOfSample(n, filter);
    return index >= 0 ? index : leastLoadedNotAvoided(filter);
  }

  private boolean avoided(PickFilter filter, int index) {
    if (filter == null) {
      return false;
    }
    List<SocketAddress> endpoint = addresses.get(index);
    for (int i = 0; i < endpoint.size(); i++) {
      if (filter.avoids(endpoint.get(i))) {
        return true;
      }
    }
    return false;
  }

  // Every sampled endpoint is avoided: scan for the least loaded one that is not, else ignore the filter.
  private int leastLoadedNotAvoided(PickFilter filter) {
    int best = -1;
    for (int i = 0; i < counters.length; i++) {
      if (!avoided(filter, i) && (best < 0 || counters[i].get() < counters[best].get())) {
        best = i;
      }
    }
    return best >= 0 ? best : nextIndex(null);
  }

  // Floyd's algorithm: draws exactly k distinct indices of [0, n) with k random numbers.
  private int leastLoadedOfDistinctSample(int n, PickFilter filter) {
    int k = Math.min(choiceCount, n);
    long sampled = 0L;
    int best = -1;
    int bestLoad = Integer.MAX_VALUE;
    int ties = 0;
    for (int j = n - k; j < n; j++) {
      int candidate = random.nextInt(j + 1);
      if ((sampled & (1L << candidate)) != 0) {
        candidate = j;
      }
      sampled |= 1L << candidate;
      if (avoided(filter, candidate)) {
        continue;
      }
      int load = counters[candidate].get();
      if (load < bestLoad) {
        best = candidate;
        bestLoad = load;
        ties = 1;
      } else if (load == bestLoad && random.nextInt(++ties) == 0) {
        best = candidate; // reservoir sampling keeps each tied candidate with equal probability
      }
    }
    return best;
  }

  private int leastLoadedOfSample(int n, PickFilter filter) {
    int best = -1;
    for (int i = 0; i < choiceCount; i++) {
      int candidate = random.nextInt(n);
      if (!avoided(filter, candidate) && (best < 0 || counters[candidate].get() < counters[best].get())) {
        best = candidate;
      }
    }
    return best;
  }

  @Override
  public boolean equals(Object o) {
    if (o == this) {
      return true;
    }
    if (!(o instanceof LeastOutstandingPicker)) {
      return false;
    }
    LeastOutstandingPicker other = (LeastOutstandingPicker) o;
    return hashCode == other.hashCode
        && choiceCount == other.choiceCount
        && random == other.random
        && Arrays.equals(childPickers, other.childPickers)
        && Arrays.equals(counters, other.counters);
  }

  @Override
  public int hashCode() {
    return hashCode;
  }

  @Override
  public String toString() {
    return "LeastOutstandingPicker{choiceCount=" + choiceCount + ", counters="
        + Arrays.toString(counters) + "}";
  }
}
