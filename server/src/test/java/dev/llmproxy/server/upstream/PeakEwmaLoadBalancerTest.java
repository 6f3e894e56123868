package dev.llmproxy.server.upstream;

import static io.grpc.ConnectivityState.READY;
import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.Attributes;
import io.grpc.CallOptions;
import io.grpc.ClientStreamTracer;
import io.grpc.ConnectivityStateInfo;
import io.grpc.EquivalentAddressGroup;
import io.grpc.LoadBalancer.PickResult;
import io.grpc.LoadBalancer.ResolvedAddresses;
import io.grpc.Metadata;
import io.grpc.Status;
import java.net.InetSocketAddress;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class PeakEwmaLoadBalancerTest {
  private static final long MS = TimeUnit.MILLISECONDS.toNanos(1);
  private static final ClientStreamTracer.StreamInfo STREAM_INFO =
      ClientStreamTracer.StreamInfo.newBuilder().setCallOptions(CallOptions.DEFAULT).build();

  private final FakeHelper helper = new FakeHelper();
  private final AtomicLong clock = new AtomicLong(1_000_000 * MS);
  private final PeakEwmaLoadBalancer balancer = new PeakEwmaLoadBalancer(helper, new Random(8), clock::get);

  @AfterEach
  void shutDown() {
    helper.syncContext.execute(balancer::shutdown);
  }

  @Test
  void learnsWhichUpstreamIsFastAndForgetsItWhenTheUpstreamComesBack() {
    helper.syncContext.execute(() -> balancer.acceptResolvedAddresses(ResolvedAddresses.newBuilder()
        .setAddresses(List.of(new EquivalentAddressGroup(new InetSocketAddress("10.0.0.1", 7000)),
            new EquivalentAddressGroup(new InetSocketAddress("10.0.0.2", 7000))))
        .setAttributes(Attributes.EMPTY)
        .setLoadBalancingPolicyConfig(new PeakEwmaLoadBalancerProvider.Config(java.time.Duration.ofSeconds(10), 1))
        .build()));
    setState(0, ConnectivityStateInfo.forNonError(READY));
    setState(1, ConnectivityStateInfo.forNonError(READY));

    // Serve one call on each: upstream 0 answers in 300 ms, upstream 1 in 10 ms.
    while (!(served(0) && served(1))) {
      PickResult pick = helper.picker.pickSubchannel(FakePickArgs.DEFAULT);
      int index = helper.subchannels.indexOf(pick.getSubchannel());
      complete(pick, index == 0 ? 300 : 10);
      servedBy.merge(index, 1, Integer::sum);
    }
    assertThat(picks(200)).containsOnlyKeys(1);

    // Upstream 1 fails and comes back: it starts again without an average, so calls spread.
    setState(1, ConnectivityStateInfo.forTransientFailure(Status.UNAVAILABLE));
    setState(1, ConnectivityStateInfo.forNonError(READY));
    assertThat(picks(200)).containsKeys(0, 1);
  }

  private final Map<Integer, Integer> servedBy = new HashMap<>();

  private boolean served(int index) {
    return servedBy.containsKey(index);
  }

  private void complete(PickResult pick, long millis) {
    ClientStreamTracer tracer = pick.getStreamTracerFactory().newClientStreamTracer(STREAM_INFO, new Metadata());
    tracer.streamCreated(Attributes.EMPTY, new Metadata());
    clock.addAndGet(millis * MS);
    tracer.inboundMessage(0);
    tracer.streamClosed(Status.OK);
  }

  private Map<Integer, Integer> picks(int times) {
    Map<Integer, Integer> picks = new HashMap<>();
    for (int i = 0; i < times; i++) {
      picks.merge(helper.subchannels.indexOf(helper.picker.pickSubchannel(FakePickArgs.DEFAULT).getSubchannel()),
          1, Integer::sum);
    }
    return picks;
  }

  private void setState(int subchannel, ConnectivityStateInfo state) {
    helper.syncContext.execute(() -> helper.subchannels.get(subchannel).setState(state));
  }
}
