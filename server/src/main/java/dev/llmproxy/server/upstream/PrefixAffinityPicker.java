package dev.llmproxy.server.upstream;

import static java.util.Objects.requireNonNull;

import io.grpc.LoadBalancer.PickResult;
import io.grpc.LoadBalancer.PickSubchannelArgs;
import io.grpc.LoadBalancer.SubchannelPicker;
import java.net.SocketAddress;
import java.util.Arrays;
import java.util.List;

/*
 * Consistent hashing with bounded loads (Mirrokni, Thorup, Zadimoghaddam, "Consistent Hashing with
 * Bounded Loads", 2018), over the calls in flight.
 *
 * What: a call that carries an AffinityKey (a hash of its tenant and prompt prefix) goes to the
 * first endpoint clockwise from the key on the ring that is READY, not avoided by the call's
 * PickFilter, and below the load bound: in-flight < loadFactor x (total in flight + 1) / READY
 * endpoints (at least MIN_BOUND). A full endpoint is passed over and the walk goes on, so overflow lands on the next
 * endpoint of the ring, the same one for every call of that prefix (its cache warms too).
 * A call without a key, or one for which every endpoint is full or avoided, is balanced by load
 * alone, as least_loaded does: power of two choices on the load the engines report (ORCA: queue
 * depth and utilization), and on calls in flight where either of the two has no fresh report.
 * The bound itself stays on calls in flight: it must hold for engines that report nothing too.
 *
 * Why: an engine that already holds a prompt's prefix in its KV cache skips prefilling it, which is
 * most of the time to first token for long system prompts. Affinity alone piles a hot tenant onto
 * one engine (the "death spiral" users of cache-aware routers report); the bound keeps every
 * endpoint within loadFactor of the mean, at the price of some misses for the hottest prefixes.
 *
 * The ring holds every endpoint of the resolved list, ready or not, so it is the same on every
 * replica and does not move when an endpoint flaps: a key whose endpoint is down is served by the
 * next one and comes back when it does.
 */
/** Picks among the children of {@link PrefixAffinityLoadBalancer}. Immutable. */
final class PrefixAffinityPicker extends SubchannelPicker {
  /** Calls in flight an upstream may always have before its prefixes overflow. */
  static final int MIN_BOUND = 2;

  private final EndpointRing ring;
  private final SubchannelPicker[] pickers; // every endpoint, ring order of identities
  private final EngineLoad[] loads;
  private final List<List<SocketAddress>> addresses;
  private final boolean[] ready;
  private final int readyCount;
  private final double loadFactor;
  private final SubchannelPicker fallback;

  /**
   * @param ring the ring of {@code pickers.size()} endpoints
   * @param ready which endpoints may be picked (READY); at least one
   * @param fallback balances calls without a key (or that the ring cannot place) over the ready
   *     endpoints, by their load (a {@link LeastLoadedPicker} over the same {@code loads})
   */
  PrefixAffinityPicker(EndpointRing ring, List<SubchannelPicker> pickers, List<EngineLoad> loads,
      List<List<SocketAddress>> addresses, boolean[] ready, double loadFactor, SubchannelPicker fallback) {
    if (pickers.size() != loads.size() || pickers.size() != addresses.size() || pickers.size() != ready.length
        || ring.size() != pickers.size() * EndpointRing.POINTS_PER_ENDPOINT) {
      throw new IllegalArgumentException("ring, pickers, loads, addresses, ready: sizes differ");
    }
    if (!(loadFactor > 1)) {
      throw new IllegalArgumentException("loadFactor: " + loadFactor + " (expected: > 1)");
    }
    this.ring = ring;
    this.pickers = pickers.toArray(new SubchannelPicker[0]);
    this.loads = loads.toArray(new EngineLoad[0]);
    this.addresses = List.copyOf(addresses);
    this.ready = ready.clone();
    int count = 0;
    for (boolean r : ready) {
      count += r ? 1 : 0;
    }
    this.readyCount = count;
    this.loadFactor = loadFactor;
    this.fallback = requireNonNull(fallback, "fallback");
  }

  @Override
  public PickResult pickSubchannel(PickSubchannelArgs args) {
    AffinityKey key = args.getCallOptions().getOption(AffinityKey.CALL_OPTION);
    if (key == null || readyCount == 0) {
      return fallback.pickSubchannel(args);
    }
    PickFilter filter = args.getCallOptions().getOption(PickFilter.CALL_OPTION);
    int index = walk(key.hash(), filter == null || !filter.avoidsAny() ? null : filter);
    if (index < 0) {
      return fallback.pickSubchannel(args); // saturated or all avoided: the load signal decides
    }
    PickResult result = pickers[index].pickSubchannel(args);
    return result.getSubchannel() == null ? result : result.copyWithStreamTracerFactory(loads[index]);
  }

  /** The endpoint for {@code hash} under the load bound, or -1. */
  int walk(long hash, PickFilter filter) {
    long total = 0;
    for (int i = 0; i < loads.length; i++) {
      if (ready[i]) {
        total += loads[i].inFlight();
      }
    }
    // Mirrokni et al.'s capacity is ceil(c * (m + 1) / n), counting the call being placed; the floor
    // instead keeps every upstream at or below c times the mean, the promise made to operators (with
    // the ceiling an upstream could hold 20 calls at a mean of 15.25: 1.31 x for c = 1.25). When the
    // floor leaves no room anywhere (a c close to 1 at low load), the walk finds nothing and the
    // call falls back to the load signal. At a handful of calls the bound would be 1, so a prefix's
    // second call would leave its upstream while the first is still closing; an engine batches far
    // more than MIN_BOUND calls, so affinity holds up to there.
    long bound = Math.max(MIN_BOUND, (long) Math.floor(loadFactor * (total + 1) / readyCount));
    // Pools of up to 64 endpoints (all real ones) track what was seen without allocating.
    long seenMask = 0L;
    boolean[] seen = loads.length > Long.SIZE ? new boolean[loads.length] : null;
    int distinct = 0;
    int position = ring.first(hash);
    for (int steps = 0; steps < ring.size() && distinct < loads.length; steps++, position = ring.next(position)) {
      int owner = ring.owner(position);
      if (seen == null ? (seenMask & (1L << owner)) != 0 : seen[owner]) {
        continue;
      }
      if (seen == null) {
        seenMask |= 1L << owner;
      } else {
        seen[owner] = true;
      }
      distinct++;
      if (ready[owner] && loads[owner].inFlight() < bound && !avoided(filter, owner)) {
        return owner;
      }
    }
    return -1;
  }

  private boolean avoided(PickFilter filter, int index) {
    if (filter == null) {
      return false;
    }
    for (SocketAddress address : addresses.get(index)) {
      if (filter.avoids(address)) {
        return true;
      }
    }
    return false;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof PrefixAffinityPicker other && loadFactor == other.loadFactor
        && Arrays.equals(pickers, other.pickers) && Arrays.equals(loads, other.loads)
        && Arrays.equals(ready, other.ready);
  }

  @Override
  public int hashCode() {
    return Arrays.hashCode(pickers) * 31 + Arrays.hashCode(ready);
  }

  @Override
  public String toString() {
    return "PrefixAffinityPicker{loadFactor=" + loadFactor + ", loads=" + Arrays.toString(loads) + "}";
  }
}
