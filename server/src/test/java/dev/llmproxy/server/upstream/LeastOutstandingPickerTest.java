package dev.llmproxy.server.upstream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.llmproxy.server.upstream.FakeHelper.FakeSubchannel;
import io.grpc.Attributes;
import io.grpc.CallOptions;
import io.grpc.ClientStreamTracer;
import io.grpc.LoadBalancer.FixedResultPicker;
import io.grpc.LoadBalancer.PickResult;
import io.grpc.LoadBalancer.PickSubchannelArgs;
import io.grpc.LoadBalancer.SubchannelPicker;
import io.grpc.Metadata;
import io.grpc.Status;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.random.RandomGenerator;
import org.junit.jupiter.api.Test;

class LeastOutstandingPickerTest {
  private static final PickSubchannelArgs ARGS = FakePickArgs.DEFAULT;
  private static final ClientStreamTracer.StreamInfo STREAM_INFO =
      ClientStreamTracer.StreamInfo.newBuilder().setCallOptions(CallOptions.DEFAULT).build();

  private final List<FakeSubchannel> subchannels = new ArrayList<>();
  private final List<InFlightCounter> counters = new ArrayList<>();

  @Test
  void prefersTheEndpointWithFewerCallsInFlight() {
    LeastOutstandingPicker picker = picker(3, 2, new Random(7));
    startCalls(0, 5);
    startCalls(2, 1);

    Map<Integer, Integer> picks = pick(picker, 3_000);

    // Two distinct endpoints are compared each time, so the busiest never wins.
    assertThat(picks.getOrDefault(0, 0)).isZero();
    assertThat(picks.get(1)).isGreaterThan(picks.get(2));
  }

  @Test
  void spreadsPicksEvenlyWhenLoadIsEqual() {
    LeastOutstandingPicker picker = picker(3, 2, new Random(42));

    Map<Integer, Integer> picks = pick(picker, 30_000);

    assertThat(picks).hasSize(3);
    picks.values().forEach(count -> assertThat((double) count).isCloseTo(10_000, within(500.0)));
  }

  @Test
  void spreadsTiesEvenlyWhenChoiceCountCoversAllEndpoints() {
    LeastOutstandingPicker picker = picker(4, 10, new Random(3));
    startCalls(3, 1);

    Map<Integer, Integer> picks = pick(picker, 30_000);

    assertThat(picks.getOrDefault(3, 0)).isZero();
    picks.values().forEach(count -> assertThat((double) count).isCloseTo(10_000, within(500.0)));
  }

  @Test
  void picksTheLeastLoadedWhenChoiceCountCoversAllEndpoints() {
    LeastOutstandingPicker picker = picker(3, 3, new Random(1));
    startCalls(0, 2);
    startCalls(2, 3);

    assertThat(pick(picker, 100)).containsOnlyKeys(1);
  }

  @Test
  void steersAwayFromALargePoolsBusiestEndpoints() {
    LeastOutstandingPicker picker = picker(100, 2, new Random(5));
    for (int i = 0; i < 50; i++) {
      startCalls(i, 3);
    }

    Map<Integer, Integer> picks = pick(picker, 10_000);
    int toBusy = picks.entrySet().stream().filter(e -> e.getKey() < 50)
        .mapToInt(Map.Entry::getValue).sum();

    // With replacement, both samples land on the busy half a quarter of the time.
    assertThat((double) toBusy).isCloseTo(2_500, within(300.0));
  }

  @Test
  void countsACallFromStreamCreatedUntilStreamClosed() {
    LeastOutstandingPicker picker = picker(1, 2, new Random(1));

    PickResult result = picker.pickSubchannel(ARGS);
    ClientStreamTracer tracer =
        result.getStreamTracerFactory().newClientStreamTracer(STREAM_INFO, new Metadata());
    assertThat(result.getSubchannel()).isSameAs(subchannels.get(0));
    assertThat(counters.get(0).get()).isZero();

    tracer.streamCreated(Attributes.EMPTY, new Metadata());
    assertThat(counters.get(0).get()).isEqualTo(1);

    tracer.streamClosed(Status.CANCELLED);
    assertThat(counters.get(0).get()).isZero();
  }

  @Test
  void aStreamClosedBeforeItWasCreatedIsNotCounted() {
    LeastOutstandingPicker picker = picker(1, 2, new Random(1));
    ClientStreamTracer tracer = picker.pickSubchannel(ARGS).getStreamTracerFactory()
        .newClientStreamTracer(STREAM_INFO, new Metadata());

    tracer.streamClosed(Status.UNAVAILABLE);

    assertThat(counters.get(0).get()).isZero();
  }

  @Test
  void passesOnTheAnswerOfAChildWithoutSubchannel() {
    PickResult failure = PickResult.withError(Status.UNAVAILABLE.withDescription("refused"));
    LeastOutstandingPicker picker = new LeastOutstandingPicker(
        List.of(new FixedResultPicker(failure)), List.of(new InFlightCounter()), 2, new Random(1));

    assertThat(picker.pickSubchannel(ARGS)).isSameAs(failure);
  }

  @Test
  void equalsAPickerOverTheSameChildren() {
    LeastOutstandingPicker picker = picker(3, 2, LeastOutstandingPicker.THREAD_LOCAL_RANDOM);
    List<SubchannelPicker> sameChildren = new ArrayList<>();
    for (FakeSubchannel subchannel : subchannels) {
      sameChildren.add(new FixedResultPicker(PickResult.withSubchannel(subchannel)));
    }

    assertThat(new LeastOutstandingPicker(
        sameChildren, counters, 2, LeastOutstandingPicker.THREAD_LOCAL_RANDOM))
        .isEqualTo(picker).hasSameHashCodeAs(picker);
    assertThat(new LeastOutstandingPicker(
        sameChildren, counters, 3, LeastOutstandingPicker.THREAD_LOCAL_RANDOM))
        .isNotEqualTo(picker);
  }

  @Test
  void passesOverEndpointsTheCallsFilterAvoids() {
    LeastOutstandingPicker picker = addressedPicker(3, 2, new Random(11));
    startCalls(1, 5); // the avoided endpoint is the least loaded one: avoidance must still win
    startCalls(2, 5);
    PickFilter avoidFirst = address -> address.equals(address(0));

    Map<Integer, Integer> picks = pick(picker, 2_000, FakePickArgs.filtered(avoidFirst));

    assertThat(picks).doesNotContainKey(0);
    assertThat(picks.keySet()).containsExactlyInAnyOrder(1, 2);
  }

  @Test
  void findsTheOneEndpointNotAvoidedEvenWhenTheSampleMissesIt() {
    LeastOutstandingPicker picker = addressedPicker(8, 2, new Random(3));
    PickFilter onlySeven = address -> !address.equals(address(7));

    Map<Integer, Integer> picks = pick(picker, 500, FakePickArgs.filtered(onlySeven));

    assertThat(picks).containsOnlyKeys(7);
  }

  @Test
  void ignoresTheFilterWhenItAvoidsEveryEndpoint() {
    LeastOutstandingPicker picker = addressedPicker(3, 2, new Random(5));
    startCalls(0, 3);
    startCalls(1, 3);

    Map<Integer, Integer> picks = pick(picker, 300, FakePickArgs.filtered(address -> true));

    // As without a filter: power of two choices, so the idle endpoint gets most calls.
    assertThat(picks.get(2)).isGreaterThan(150);
  }

  @Test
  void aCallWithoutAFilterIsBalancedAsBefore() {
    LeastOutstandingPicker picker = addressedPicker(3, 3, new Random(9));
    startCalls(0, 1);
    startCalls(1, 1);

    assertThat(pick(picker, 100)).containsOnlyKeys(2);
  }

  private static SocketAddress address(int endpoint) {
    return new InetSocketAddress("127.0.0.1", 7000 + endpoint);
  }

  private LeastOutstandingPicker addressedPicker(int endpoints, int choiceCount, RandomGenerator random) {
    List<SubchannelPicker> children = new ArrayList<>();
    List<List<SocketAddress>> addresses = new ArrayList<>();
    for (int i = 0; i < endpoints; i++) {
      FakeSubchannel subchannel = new FakeSubchannel();
      subchannels.add(subchannel);
      counters.add(new InFlightCounter());
      children.add(new FixedResultPicker(PickResult.withSubchannel(subchannel)));
      addresses.add(List.of(address(i)));
    }
    return new LeastOutstandingPicker(children, counters, addresses, choiceCount, random);
  }

  private Map<Integer, Integer> pick(SubchannelPicker picker, int times, PickSubchannelArgs args) {
    Map<Integer, Integer> picks = new HashMap<>();
    for (int i = 0; i < times; i++) {
      PickResult result = picker.pickSubchannel(args);
      picks.merge(subchannels.indexOf(result.getSubchannel()), 1, Integer::sum);
    }
    return picks;
  }

  private LeastOutstandingPicker picker(int endpoints, int choiceCount, RandomGenerator random) {
    List<SubchannelPicker> children = new ArrayList<>();
    for (int i = 0; i < endpoints; i++) {
      FakeSubchannel subchannel = new FakeSubchannel();
      subchannels.add(subchannel);
      counters.add(new InFlightCounter());
      children.add(new FixedResultPicker(PickResult.withSubchannel(subchannel)));
    }
    return new LeastOutstandingPicker(children, counters, choiceCount, random);
  }

  /** Opens streams on an endpoint the way gRPC does after a pick, and leaves them open. */
  private void startCalls(int endpoint, int calls) {
    for (int i = 0; i < calls; i++) {
      counters.get(endpoint).newClientStreamTracer(STREAM_INFO, new Metadata())
          .streamCreated(Attributes.EMPTY, new Metadata());
    }
  }

  private Map<Integer, Integer> pick(SubchannelPicker picker, int times) {
    Map<Integer, Integer> picks = new HashMap<>();
    for (int i = 0; i < times; i++) {
      PickResult result = picker.pickSubchannel(ARGS);
      picks.merge(subchannels.indexOf(result.getSubchannel()), 1, Integer::sum);
    }
    return picks;
  }
}
