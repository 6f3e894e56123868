package dev.llmproxy.server.upstream;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llmproxy.server.upstream.FakeHelper.FakeSubchannel;
import io.grpc.Attributes;
import io.grpc.CallOptions;
import io.grpc.ClientStreamTracer;
import io.grpc.LoadBalancer.FixedResultPicker;
import io.grpc.LoadBalancer.PickResult;
import io.grpc.LoadBalancer.SubchannelPicker;
import io.grpc.Metadata;
import io.grpc.Status;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class PeakEwmaPickerTest {
  private static final long MS = TimeUnit.MILLISECONDS.toNanos(1);
  private static final ClientStreamTracer.StreamInfo STREAM_INFO =
      ClientStreamTracer.StreamInfo.newBuilder().setCallOptions(CallOptions.DEFAULT).build();

  private final AtomicLong clock = new AtomicLong(1_000_000 * MS);
  private final List<FakeSubchannel> subchannels = new ArrayList<>();
  private final List<PeakEwma> stats = new ArrayList<>();
  private final List<SubchannelPicker> children = new ArrayList<>();
  private final List<List<SocketAddress>> addresses = new ArrayList<>();

  @Test
  void prefersTheFasterEndpoint() {
    PeakEwmaPicker picker = picker(2);
    stats.get(0).sampleTtft(300 * MS);
    stats.get(1).sampleTtft(100 * MS);

    assertThat(pick(picker, 200)).containsOnlyKeys(1);
  }

  @Test
  void weighsLatencyByCallsInFlight() {
    PeakEwmaPicker picker = picker(2);
    stats.get(0).sampleTtft(300 * MS);
    stats.get(1).sampleTtft(100 * MS);
    startCalls(1, 3); // 100 ms x 4 > 300 ms x 1

    assertThat(pick(picker, 200)).containsOnlyKeys(0);
  }

  @Test
  void withABatchSizeACallInFlightCostsItsShareOfTheBatch() {
    stats.clear();
    subchannels.clear();
    // 100 ms x (1 + 20/32) = 162.5 < 300 ms x (1 + 0/32): twenty calls do not yet fill a batch of 32.
    PeakEwmaPicker batching = picker(2, 32);
    stats.get(0).sampleTtft(300 * MS);
    stats.get(1).sampleTtft(100 * MS);
    startCalls(1, 20);
    assertThat(pick(batching, 200)).containsOnlyKeys(1);

    // Finagle's cost (batch size 1) sends the same calls to the slow endpoint: 100 x 21 > 300 x 1.
    assertThat(pick(new PeakEwmaPicker(children, stats, addresses, new Random(4),
        PeakEwmaLoadBalancerProvider.DEFAULT_BATCH_SIZE), 200)).containsOnlyKeys(0);

    // Past a full batch and then some, the slow endpoint is the cheaper again: 100 x (1 + 70/32) > 300.
    startCalls(1, 50);
    assertThat(pick(batching, 200)).containsOnlyKeys(0);
  }

  @Test
  void countsSlowTokensAsWellAsSlowFirstTokens() {
    PeakEwmaPicker picker = picker(2);
    stats.get(0).sampleTtft(100 * MS);
    stats.get(0).sampleItl(60 * MS);
    stats.get(1).sampleTtft(100 * MS);
    stats.get(1).sampleItl(20 * MS);

    assertThat(pick(picker, 200)).containsOnlyKeys(1);
  }

  @Test
  void oneStretchedGapDoesNotMakeAFastEngineLookSlowerThanOneThreeTimesSlower() {
    PeakEwmaPicker picker = picker(2);
    long[] slow = new long[23];
    Arrays.fill(slow, 30);
    long[] fast = new long[23];
    Arrays.fill(fast, 10);
    fast[22] = 200; // one gap stretched by a pause of the machine, as every engine has now and then
    stream(0, 30, slow);
    stream(1, 10, fast);

    // Per call: 10 ms + 16 x 18 ms against 30 ms + 16 x 30 ms. Per gap it was 10 ms + 16 x 200 ms.
    assertThat(pick(picker, 200)).containsOnlyKeys(1);
  }

  @Test
  void aNewEndpointIsNeitherFloodedNorStarved() {
    PeakEwmaPicker picker = picker(2);
    stats.get(0).sampleTtft(300 * MS); // endpoint 1 has no sample yet

    Map<Integer, Integer> picks = pick(picker, 2_000);
    assertThat(picks.get(0)).isBetween(800, 1_200);

    startCalls(1, 1); // then calls in flight decide
    assertThat(pick(picker, 200)).containsOnlyKeys(0);
  }

  @Test
  void anAvoidedEndpointIsNotPickedWhileAnotherIsAvailable() {
    PeakEwmaPicker picker = picker(3);
    stats.get(0).sampleTtft(10 * MS);
    stats.get(1).sampleTtft(300 * MS);
    stats.get(2).sampleTtft(300 * MS);
    PickFilter ejectFastest = address -> address.equals(address(0));

    Map<Integer, Integer> picks = new HashMap<>();
    for (int i = 0; i < 300; i++) {
      picks.merge(subchannels.indexOf(picker.pickSubchannel(FakePickArgs.filtered(ejectFastest)).getSubchannel()),
          1, Integer::sum);
    }
    assertThat(picks).doesNotContainKey(0).containsKeys(1, 2);
  }

  private static SocketAddress address(int endpoint) {
    return new InetSocketAddress("127.0.0.1", 7000 + endpoint);
  }

  private PeakEwmaPicker picker(int endpoints) {
    return picker(endpoints, PeakEwmaLoadBalancerProvider.DEFAULT_BATCH_SIZE);
  }

  private PeakEwmaPicker picker(int endpoints, int batchSize) {
    for (int i = 0; i < endpoints; i++) {
      FakeSubchannel subchannel = new FakeSubchannel();
      subchannels.add(subchannel);
      stats.add(new PeakEwma(clock::get, 10_000 * MS));
      children.add(new FixedResultPicker(PickResult.withSubchannel(subchannel)));
      addresses.add(List.of(address(i)));
    }
    return new PeakEwmaPicker(children, stats, addresses, new Random(4), batchSize);
  }

  private Map<Integer, Integer> pick(SubchannelPicker picker, int times) {
    Map<Integer, Integer> picks = new HashMap<>();
    for (int i = 0; i < times; i++) {
      picks.merge(subchannels.indexOf(picker.pickSubchannel(FakePickArgs.DEFAULT).getSubchannel()), 1, Integer::sum);
    }
    return picks;
  }

  /** A stream on {@code endpoint}: its first token after {@code ttftMs}, then one per gap. */
  private void stream(int endpoint, long ttftMs, long... gapsMs) {
    ClientStreamTracer call = stats.get(endpoint).newClientStreamTracer(STREAM_INFO, new Metadata());
    call.streamCreated(Attributes.EMPTY, new Metadata());
    clock.addAndGet(ttftMs * MS);
    call.inboundMessage(0);
    for (long gap : gapsMs) {
      clock.addAndGet(gap * MS);
      call.inboundMessage(1);
    }
    call.streamClosed(Status.OK);
  }

  private void startCalls(int endpoint, int calls) {
    for (int i = 0; i < calls; i++) {
      stats.get(endpoint).newClientStreamTracer(STREAM_INFO, new Metadata())
          .streamCreated(Attributes.EMPTY, new Metadata());
    }
  }
}
