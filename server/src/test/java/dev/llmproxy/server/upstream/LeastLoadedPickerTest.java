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
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class LeastLoadedPickerTest {
  private static final long MS = TimeUnit.MILLISECONDS.toNanos(1);
  private static final long TTL = 10_000 * MS;
  private static final ClientStreamTracer.StreamInfo STREAM_INFO =
      ClientStreamTracer.StreamInfo.newBuilder().setCallOptions(CallOptions.DEFAULT).build();

  private final AtomicLong clock = new AtomicLong(1_000_000 * MS);
  private final List<FakeSubchannel> subchannels = new ArrayList<>();
  private final List<EngineLoad> loads = new ArrayList<>();

  @Test
  void prefersTheEngineWithTheShorterQueue() {
    LeastLoadedPicker picker = picker(2);
    report(0, 5, 0.1);
    report(1, 0, 0.9);

    assertThat(pick(picker, 200)).containsOnlyKeys(1);
  }

  @Test
  void ordersEnginesThatQueueNothingByTheirBusiestResource() {
    LeastLoadedPicker picker = picker(2);
    report(0, 0, 0.9);
    report(1, 0, 0.2);

    assertThat(pick(picker, 200)).containsOnlyKeys(1);
  }

  @Test
  void countsCallsSentSinceTheReport() {
    LeastLoadedPicker picker = picker(2);
    report(0, 1, 0);
    report(1, 0, 0);
    startCalls(1, 2); // 0 waiting + 2 sent since > 1 waiting

    assertThat(pick(picker, 200)).containsOnlyKeys(0);
  }

  @Test
  void aStaleReportNoLongerCounts() {
    LeastLoadedPicker picker = picker(2);
    report(0, 5, 0);
    report(1, 0, 0);
    startCalls(1, 2);
    assertThat(pick(picker, 200)).containsOnlyKeys(1);

    clock.addAndGet(TTL + MS); // both reports expire: calls in flight decide

    assertThat(pick(picker, 200)).containsOnlyKeys(0);
  }

  @Test
  void comparesCallsInFlightWhenAnEngineHasNotReported() {
    LeastLoadedPicker picker = picker(2);
    report(0, 0, 0);
    startCalls(0, 2); // endpoint 1 never reported and has nothing in flight

    assertThat(pick(picker, 200)).containsOnlyKeys(1);
  }

  @Test
  void anEngineBackFromFailingStartsWithoutItsOldReport() {
    LeastLoadedPicker picker = picker(2);
    report(0, 9, 1);
    report(1, 0, 0);
    startCalls(1, 1);
    loads.get(0).reset();

    assertThat(pick(picker, 200)).containsOnlyKeys(0);
  }

  @Test
  void anAvoidedEngineIsNotPickedWhileAnotherIsAvailable() {
    LeastLoadedPicker picker = picker(3);
    report(0, 0, 0);
    report(1, 4, 0);
    report(2, 4, 0);
    PickFilter ejectIdlest = address -> address.equals(address(0));

    Map<Integer, Integer> picks = new HashMap<>();
    for (int i = 0; i < 300; i++) {
      picks.merge(subchannels.indexOf(picker.pickSubchannel(FakePickArgs.filtered(ejectIdlest)).getSubchannel()),
          1, Integer::sum);
    }
    assertThat(picks).doesNotContainKey(0).containsKeys(1, 2);
  }

  @Test
  void aMalformedTrailerIsIgnored() {
    LeastLoadedPicker picker = picker(2);
    report(0, 0, 0);
    report(1, 3, 0);
    Metadata garbage = new Metadata();
    garbage.put(LoadReportProto.TRAILER, new byte[] {(byte) 0xff, (byte) 0xff});
    loads.get(1).newClientStreamTracer(STREAM_INFO, new Metadata()).inboundTrailers(garbage);

    assertThat(pick(picker, 200)).containsOnlyKeys(0);
  }

  private static SocketAddress address(int endpoint) {
    return new InetSocketAddress("127.0.0.1", 7000 + endpoint);
  }

  /** Delivers a report the way gRPC does: in the trailers of a call to the endpoint. */
  private void report(int endpoint, double waiting, double kvCacheUsage) {
    Metadata trailers = new Metadata();
    trailers.put(LoadReportProto.TRAILER, LoadReportProto.encode(LoadReport.ofNamedMetrics(
        Map.of(LoadReport.WAITING, waiting, LoadReport.KV_CACHE_USAGE, kvCacheUsage))));
    loads.get(endpoint).newClientStreamTracer(STREAM_INFO, new Metadata()).inboundTrailers(trailers);
  }

  private LeastLoadedPicker picker(int endpoints) {
    List<SubchannelPicker> children = new ArrayList<>();
    List<List<SocketAddress>> addresses = new ArrayList<>();
    for (int i = 0; i < endpoints; i++) {
      FakeSubchannel subchannel = new FakeSubchannel();
      subchannels.add(subchannel);
      loads.add(new EngineLoad(clock::get, TTL));
      children.add(new FixedResultPicker(PickResult.withSubchannel(subchannel)));
      addresses.add(List.of(address(i)));
    }
    return new LeastLoadedPicker(children, loads, addresses, new Random(4));
  }

  private Map<Integer, Integer> pick(SubchannelPicker picker, int times) {
    Map<Integer, Integer> picks = new HashMap<>();
    for (int i = 0; i < times; i++) {
      picks.merge(subchannels.indexOf(picker.pickSubchannel(FakePickArgs.DEFAULT).getSubchannel()), 1, Integer::sum);
    }
    return picks;
  }

  private void startCalls(int endpoint, int calls) {
    for (int i = 0; i < calls; i++) {
      loads.get(endpoint).newClientStreamTracer(STREAM_INFO, new Metadata())
          .streamCreated(Attributes.EMPTY, new Metadata());
    }
  }
}
