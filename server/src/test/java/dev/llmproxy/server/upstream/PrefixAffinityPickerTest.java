package dev.llmproxy.server.upstream;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llmproxy.orca.LoadReport;
import dev.llmproxy.orca.LoadReportProto;
import dev.llmproxy.server.upstream.FakeHelper.FakeSubchannel;
import io.grpc.Attributes;
import io.grpc.CallOptions;
import io.grpc.ClientStreamTracer;
import io.grpc.LoadBalancer.FixedResultPicker;
import io.grpc.LoadBalancer.PickResult;
import io.grpc.LoadBalancer.SubchannelPicker;
import io.grpc.Metadata;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class PrefixAffinityPickerTest {
  private static final ClientStreamTracer.StreamInfo STREAM_INFO =
      ClientStreamTracer.StreamInfo.newBuilder().setCallOptions(CallOptions.DEFAULT).build();

  private final AtomicLong clock = new AtomicLong(TimeUnit.HOURS.toNanos(1));
  private final List<FakeSubchannel> subchannels = new ArrayList<>();
  private final List<EngineLoad> loads = new ArrayList<>();

  @Test
  void sendsEveryCallWithOneKeyToOneEndpointAndSpreadsKeys() {
    PrefixAffinityPicker picker = picker(4, 1.25);
    Map<Integer, Integer> owners = new HashMap<>();
    Random random = new Random(5);
    for (int k = 0; k < 400; k++) {
      long key = random.nextLong();
      int first = pick(picker, key);
      for (int again = 0; again < 5; again++) {
        assertThat(pick(picker, key)).isEqualTo(first);
      }
      owners.merge(first, 1, Integer::sum);
    }
    assertThat(owners).hasSize(4);
    owners.values().forEach(keys -> assertThat(keys).isBetween(50, 150));
  }

  @Test
  void aFullEndpointOverflowsToTheNextOnTheRingAndOnlyThere() {
    PrefixAffinityPicker picker = picker(4, 1.25);
    long key = 42;
    int home = pick(picker, key);
    int next = nextOnRing(picker, key, home);
    // 8 calls in flight in all, all at home: the bound is max(2, floor(1.25 * 9 / 4)) = 2, home is full.
    startCalls(home, 8);

    for (int i = 0; i < 20; i++) {
      assertThat(pick(picker, key)).isEqualTo(next);
    }
  }

  @Test
  void noEndpointGoesAboveTheBoundWhenOneKeySendsEverything() {
    PrefixAffinityPicker picker = picker(4, 1.25);
    int[] load = new int[4];
    for (int call = 0; call < 400; call++) {
      int bound = Math.max(PrefixAffinityPicker.MIN_BOUND, (int) Math.floor(1.25 * (call + 1) / 4));
      boolean saturated = Arrays.stream(load).allMatch(l -> l >= bound);
      int endpoint = pick(picker, 7);
      startCalls(endpoint, 1);
      load[endpoint]++;
      int total = Arrays.stream(load).sum();
      double mean = total / 4.0;
      // Each call was placed under floor(1.25 * (m + 1) / n) with m calls already in flight, unless
      // every endpoint was at the bound (the load signal then placed it).
      assertThat(load[endpoint]).isLessThanOrEqualTo(saturated ? bound + 1 : bound);
      if (total >= 16) {
        // No endpoint above (1 + ε) x the mean (at 2, 2, 2, 2 no ninth call could keep that).
        assertThat((double) Arrays.stream(load).max().getAsInt()).isLessThanOrEqualTo(1.25 * mean);
      }
    }
  }

  @Test
  void aCallWithoutAKeyIsBalancedByLoad() {
    PrefixAffinityPicker picker = picker(3, 1.25);
    startCalls(0, 5);
    startCalls(1, 1);
    // The load signal alone decides: never the busiest of two distinct samples.
    Map<Integer, Integer> picks = new HashMap<>();
    for (int i = 0; i < 300; i++) {
      picks.merge(pickWithout(picker), 1, Integer::sum);
    }
    assertThat(picks.getOrDefault(0, 0)).isZero();
  }

  @Test
  void aCallWithoutAKeyGoesWhereTheEnginesReportLessLoadThoughItHasMoreCallsInFlight() {
    PrefixAffinityPicker picker = picker(2, 1.25);
    report(0, 6, 0.9); // six requests queued at the engine (other proxies' calls)
    report(1, 0, 0.3);
    startCalls(1, 3);

    Map<Integer, Integer> picks = new HashMap<>();
    for (int i = 0; i < 200; i++) {
      picks.merge(pickWithout(picker), 1, Integer::sum);
    }
    assertThat(picks).containsOnlyKeys(1);
  }

  @Test
  void whereAnEngineReportsNothingOrItsReportIsStaleCallsInFlightDecide() {
    PrefixAffinityPicker picker = picker(2, 1.25);
    report(0, 0, 0.1);
    startCalls(0, 3); // endpoint 1 reports nothing: the pair is compared on calls in flight

    assertThat(pickWithout(picker)).isEqualTo(1);

    report(1, 9, 1.0);
    clock.addAndGet(LeastLoadedLoadBalancerProvider.DEFAULT_REPORT_TTL.toNanos() + 1); // both reports stale
    assertThat(pickWithout(picker)).isEqualTo(1);
  }

  @Test
  void aSaturatedRingFallsBackToTheReportedLoad() {
    PrefixAffinityPicker picker = picker(2, 1.25);
    report(0, 0, 0.1);
    report(1, 4, 0.9);
    startCalls(0, 2); // more calls in flight, less reported load

    assertThat(pickAvoidingAll(picker, 11)).isEqualTo(0);
  }

  @Test
  void fallsBackToTheLoadSignalWhenEveryEndpointIsAvoided() {
    PrefixAffinityPicker picker = picker(2, 1.25);
    startCalls(0, 4);

    assertThat(pickAvoidingAll(picker, 11)).isEqualTo(1);
  }

  @Test
  void passesOverAnAvoidedEndpoint() {
    PrefixAffinityPicker picker = picker(4, 1.25);
    long key = 99;
    int home = pick(picker, key);
    int next = nextOnRing(picker, key, home);
    PickFilter ejectHome = address -> address.equals(address(home));

    PickResult result = picker.pickSubchannel(new FakePickArgs(CallOptions.DEFAULT
        .withOption(AffinityKey.CALL_OPTION, new AffinityKey(key)).withOption(PickFilter.CALL_OPTION, ejectHome)));

    assertThat(subchannels.indexOf(result.getSubchannel())).isEqualTo(next);
  }

  @Test
  void anEndpointThatJoinsTakesKeysOnlyFromOthersAndOneThatLeavesGivesOnlyItsOwn() {
    List<String> four = List.of("10.0.0.1:7000", "10.0.0.2:7000", "10.0.0.3:7000", "10.0.0.4:7000");
    List<String> five = new ArrayList<>(four);
    five.add("10.0.0.5:7000");
    EndpointRing before = EndpointRing.of(four);
    EndpointRing after = EndpointRing.of(five);
    Random random = new Random(1);
    int moved = 0;
    for (int i = 0; i < 20_000; i++) {
      long key = random.nextLong();
      String was = four.get(before.owner(before.first(key)));
      String is = five.get(after.owner(after.first(key)));
      if (!was.equals(is)) {
        moved++;
        assertThat(is).as("a key moves only to the newcomer").isEqualTo("10.0.0.5:7000");
      }
    }
    // The newcomer takes about a fifth of the keys.
    assertThat(moved).isBetween(20_000 / 5 - 1_500, 20_000 / 5 + 1_500);
  }

  @Test
  void twoReplicasBuildTheSameRingWhateverTheOrderOfTheirUpstreamList() {
    List<String> one = List.of("a:1", "b:1", "c:1", "d:1");
    List<String> other = List.of("c:1", "a:1", "d:1", "b:1");
    EndpointRing ringOne = EndpointRing.of(one);
    EndpointRing ringOther = EndpointRing.of(other);
    Random random = new Random(2);
    Set<String> owners = new HashSet<>();
    for (int i = 0; i < 5_000; i++) {
      long key = random.nextLong();
      String owner = one.get(ringOne.owner(ringOne.first(key)));
      assertThat(other.get(ringOther.owner(ringOther.first(key)))).isEqualTo(owner);
      owners.add(owner);
    }
    assertThat(owners).hasSize(4);
  }

  private static SocketAddress address(int endpoint) {
    return new InetSocketAddress("127.0.0.1", 7000 + endpoint);
  }

  private PrefixAffinityPicker picker(int endpoints, double loadFactor) {
    List<SubchannelPicker> children = new ArrayList<>();
    List<List<SocketAddress>> addresses = new ArrayList<>();
    List<String> identities = new ArrayList<>();
    for (int i = 0; i < endpoints; i++) {
      FakeSubchannel subchannel = new FakeSubchannel();
      subchannels.add(subchannel);
      loads.add(new EngineLoad(clock::get, LeastLoadedLoadBalancerProvider.DEFAULT_REPORT_TTL.toNanos()));
      children.add(new FixedResultPicker(PickResult.withSubchannel(subchannel)));
      addresses.add(List.of(address(i)));
      identities.add(EndpointIdentity.of(address(i)));
    }
    boolean[] ready = new boolean[endpoints];
    Arrays.fill(ready, true);
    LeastLoadedPicker fallback = new LeastLoadedPicker(children, loads, addresses, new Random(3));
    return new PrefixAffinityPicker(EndpointRing.of(identities), children, loads, addresses, ready, loadFactor,
        fallback);
  }

  /** The endpoint after {@code home} on the ring from {@code key}, found by ejecting home. */
  private int nextOnRing(PrefixAffinityPicker picker, long key, int home) {
    return picker.walk(key, address -> address.equals(address(home)));
  }

  private int pick(SubchannelPicker picker, long key) {
    PickResult result = picker.pickSubchannel(
        new FakePickArgs(CallOptions.DEFAULT.withOption(AffinityKey.CALL_OPTION, new AffinityKey(key))));
    return subchannels.indexOf(result.getSubchannel());
  }

  /** A call with {@code key} that avoids every endpoint: the ring places none of them. */
  private int pickAvoidingAll(PrefixAffinityPicker picker, long key) {
    PickFilter all = address -> true;
    assertThat(picker.walk(key, all)).isEqualTo(-1);
    // Every endpoint avoided: the filter is ignored (trying beats failing) and load decides.
    PickResult result = picker.pickSubchannel(new FakePickArgs(CallOptions.DEFAULT
        .withOption(AffinityKey.CALL_OPTION, new AffinityKey(key)).withOption(PickFilter.CALL_OPTION, all)));
    return subchannels.indexOf(result.getSubchannel());
  }

  private int pickWithout(SubchannelPicker picker) {
    return subchannels.indexOf(picker.pickSubchannel(FakePickArgs.DEFAULT).getSubchannel());
  }

  private void startCalls(int endpoint, int calls) {
    for (int i = 0; i < calls; i++) {
      loads.get(endpoint).newClientStreamTracer(STREAM_INFO, new Metadata())
          .streamCreated(Attributes.EMPTY, new Metadata());
    }
  }

  /** An ORCA report in a call's trailers, as the engine sends it. */
  private void report(int endpoint, double waiting, double kvCacheUsage) {
    Metadata trailers = new Metadata();
    trailers.put(LoadReportProto.TRAILER, LoadReportProto.encode(LoadReport.ofNamedMetrics(
        Map.of(LoadReport.WAITING, waiting, LoadReport.KV_CACHE_USAGE, kvCacheUsage))));
    loads.get(endpoint).newClientStreamTracer(STREAM_INFO, new Metadata()).inboundTrailers(trailers);
  }
}
