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
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.random.RandomGenerator;
import org.junit.jupiter.api.Test;

class LeastOutstandingPickerTest {
  private static final PickSubchannelArgs ARGS = null; // child pickers here ignore the args
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
