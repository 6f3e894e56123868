package dev.llmproxy.server.upstream;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llmproxy.server.config.OutlierDetection;
import dev.llmproxy.server.shed.ManualScheduler;
import dev.llmproxy.server.upstream.FakeHelper.FakeSubchannel;
import io.grpc.Attributes;
import io.grpc.CallOptions;
import io.grpc.ClientStreamTracer;
import io.grpc.ConnectivityState;
import io.grpc.ConnectivityStateInfo;
import io.grpc.EquivalentAddressGroup;
import io.grpc.Grpc;
import io.grpc.LoadBalancer.PickResult;
import io.grpc.LoadBalancer.ResolvedAddresses;
import io.grpc.LoadBalancer.Subchannel;
import io.grpc.Metadata;
import io.grpc.Status;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The avoidance policy over real child policies (grpc's round_robin and pick_first, our
 * least_outstanding), fake subchannels and a fake clock. Calls end through the tracer each pick
 * carries, as the transport would end them.
 */
class AvoidanceLoadBalancerTest {
  /** Two faults eject for 10 s (doubling up to 80 s); at most half the upstreams; busy for 1 s. */
  private static final OutlierDetection SETTINGS =
      new OutlierDetection(2, Duration.ofSeconds(10), Duration.ofSeconds(80), 50, Duration.ofSeconds(1));
  private static final Metadata.Key<String> PUSHBACK =
      Metadata.Key.of("grpc-retry-pushback-ms", Metadata.ASCII_STRING_MARSHALLER);

  private final FakeHelper helper = new FakeHelper();
  private final ManualScheduler timers = new ManualScheduler();
  private final RouteOutliers outliers = new RouteOutliers();
  private final AvoidanceLoadBalancer balancer;

  AvoidanceLoadBalancerTest() {
    helper.timers = timers;
    balancer = new AvoidanceLoadBalancer(helper, outliers, timers::nanoTime);
  }

  @AfterEach
  void shutDown() {
    helper.syncContext.execute(balancer::shutdown);
  }

  private static SocketAddress address(int i) {
    return new InetSocketAddress("127.0.0.1", 7000 + i);
  }

  private void start(String policy, int upstreams) {
    List<EquivalentAddressGroup> groups = new ArrayList<>();
    for (int i = 0; i < upstreams; i++) {
      groups.add(new EquivalentAddressGroup(address(i)));
    }
    Object config = new AvoidanceLoadBalancerProvider()
        .parseLoadBalancingPolicyConfig(AvoidanceLoadBalancerProvider.wrap(Map.of(policy, Map.of()), SETTINGS)
            .get(AvoidanceLoadBalancerProvider.POLICY_NAME) instanceof Map<?, ?> m ? cast(m) : null)
        .getConfig();
    helper.syncContext.execute(() -> balancer.acceptResolvedAddresses(
        ResolvedAddresses.newBuilder().setAddresses(groups).setLoadBalancingPolicyConfig(config).build()));
    readyAll();
  }

  @SuppressWarnings("unchecked")
  private static Map<String, ?> cast(Map<?, ?> m) {
    return (Map<String, ?>) m;
  }

  /** Every live subchannel the children made reports READY. */
  private void readyAll() {
    helper.syncContext.execute(() -> {
      for (FakeSubchannel subchannel : new ArrayList<>(helper.subchannels)) {
        if (!subchannel.shutdown && subchannel.listener != null) {
          subchannel.setState(ConnectivityStateInfo.forNonError(ConnectivityState.READY));
        }
      }
    });
  }

  private PickResult pick(UpstreamAttempt attempt) {
    CallOptions options = attempt == null ? CallOptions.DEFAULT
        : CallOptions.DEFAULT.withOption(UpstreamAttempt.CALL_OPTION, attempt);
    return helper.picker.pickSubchannel(new FakePickArgs(options));
  }

  /** The upstream a pick went to: the address of its subchannel (the first, for pick_first's one). */
  private static SocketAddress upstreamOf(PickResult result) {
    Subchannel subchannel = result.getSubchannel();
    assertThat(subchannel).as("a pick with a subchannel: " + result).isNotNull();
    return subchannel.getAttributes().get(AvoidanceLoadBalancer.ADDRESSES).get(0);
  }

  private Set<SocketAddress> upstreamsOf(int picks, UpstreamAttempt attempt) {
    Set<SocketAddress> seen = new HashSet<>();
    for (int i = 0; i < picks; i++) {
      seen.add(upstreamOf(pick(attempt)));
    }
    return seen;
  }

  /** Ends a call picked with {@code result} on the transport to {@code upstream}, as grpc would. */
  private static void end(PickResult result, SocketAddress upstream, Status status, Metadata trailers) {
    ClientStreamTracer tracer = result.getStreamTracerFactory()
        .newClientStreamTracer(ClientStreamTracer.StreamInfo.newBuilder().build(), new Metadata());
    tracer.streamCreated(Attributes.newBuilder().set(Grpc.TRANSPORT_ATTR_REMOTE_ADDR, upstream).build(),
        new Metadata());
    tracer.inboundTrailers(trailers);
    tracer.streamClosed(status);
  }

  /** Picks until the pick lands on {@code upstream} and ends that call with {@code status}. */
  private void callEnds(SocketAddress upstream, Status status, Metadata trailers, UpstreamAttempt attempt) {
    for (int i = 0; i < 100; i++) {
      PickResult result = pick(attempt);
      if (upstreamOf(result).equals(upstream) || result.getSubchannel().getAttributes()
          .get(AvoidanceLoadBalancer.ADDRESSES).contains(upstream)) {
        end(result, upstream, status, trailers);
        return;
      }
    }
    throw new AssertionError("never picked " + upstream);
  }

  private void fault(SocketAddress upstream) {
    callEnds(upstream, Status.UNAVAILABLE.withDescription("connection reset"), new Metadata(), null);
  }

  private static UpstreamAttempt attempt(List<SocketAddress> failed, boolean callerGone, boolean stalled) {
    return new UpstreamAttempt() {
      @Override
      public List<SocketAddress> failedUpstreams() {
        return failed;
      }

      @Override
      public boolean callerGone() {
        return callerGone;
      }

      @Override
      public boolean stalled() {
        return stalled;
      }
    };
  }

  @ParameterizedTest
  @ValueSource(strings = {"round_robin", "least_outstanding"})
  void ejectsAfterConsecutiveFaultsItSeesThroughItsOwnTracerAndPicksAvoidTheEjected(String policy) {
    start(policy, 3);
    fault(address(0));
    assertThat(outliers.isEjected(address(0))).as("one fault is not a run").isFalse();
    fault(address(0));

    assertThat(outliers.isEjected(address(0))).isTrue();
    assertThat(outliers.ejectedCount()).isEqualTo(1);
    assertThat(outliers.ejections()).isEqualTo(1);
    readyAll(); // what the child connects anew
    assertThat(upstreamsOf(30, null)).containsExactlyInAnyOrder(address(1), address(2));
  }

  @Test
  void aSuccessBetweenFaultsResetsTheRun() {
    start("round_robin", 3);
    fault(address(0));
    callEnds(address(0), Status.OK, new Metadata(), null);
    fault(address(0));

    assertThat(outliers.isEjected(address(0))).isFalse();
  }

  @Test
  void anEjectedUpstreamReturnsWhenItsTimeIsUpAndAnotherEjectionSoonAfterLastsTwiceAsLong() {
    start("round_robin", 3);
    fault(address(0));
    fault(address(0));

    timers.advance(Duration.ofSeconds(10));
    readyAll(); // round_robin connects the address it was given back
    assertThat(outliers.isEjected(address(0))).isFalse();
    assertThat(upstreamsOf(30, null)).contains(address(0));

    fault(address(0));
    fault(address(0));
    timers.advance(Duration.ofSeconds(19));
    readyAll();
    assertThat(outliers.isEjected(address(0))).isTrue();
    assertThat(upstreamsOf(30, null)).doesNotContain(address(0));
    timers.advance(Duration.ofSeconds(1));
    readyAll();
    assertThat(upstreamsOf(30, null)).contains(address(0));
    assertThat(outliers.ejections()).isEqualTo(2);
  }

  @ParameterizedTest
  @ValueSource(strings = {"round_robin", "least_outstanding"})
  void aBusyUpstreamIsAvoidedForItsPushbackAndNeverEjected(String policy) {
    start(policy, 3);
    Metadata pushback = new Metadata();
    pushback.put(PUSHBACK, "5000");
    PickResult picked = pick(null);
    while (!upstreamOf(picked).equals(address(1))) {
      picked = pick(null);
    }
    for (int i = 0; i < 3; i++) { // three calls that were in flight together
      end(picked, address(1), Status.RESOURCE_EXHAUSTED.withDescription("at capacity"), pushback);
    }

    assertThat(outliers.isEjected(address(1))).isFalse();
    assertThat(upstreamsOf(30, null)).doesNotContain(address(1));
    timers.advance(Duration.ofSeconds(4)); // past busy_avoidance (1 s), not past the pushback (5 s)
    assertThat(upstreamsOf(30, null)).doesNotContain(address(1));
    timers.advance(Duration.ofSeconds(1));
    assertThat(upstreamsOf(30, null)).contains(address(1));
  }

  @Test
  void aBusyUpstreamWithoutPushbackIsAvoidedForTheRoutesBusyAvoidance() {
    start("round_robin", 3);
    callEnds(address(1), Status.RESOURCE_EXHAUSTED.withDescription("at capacity"), new Metadata(), null);

    assertThat(upstreamsOf(30, null)).doesNotContain(address(1));
    timers.advance(Duration.ofSeconds(1));
    assertThat(upstreamsOf(30, null)).contains(address(1));
  }

  @Test
  void aCallTheClientCancelledDoesNotCountButAnUpstreamResetAndAStallDo() {
    start("round_robin", 3);
    UpstreamAttempt clientLeft = attempt(List.of(), true, false);
    for (int i = 0; i < 5; i++) {
      callEnds(address(0), Status.CANCELLED.withDescription("client cancelled"), new Metadata(), clientLeft);
      callEnds(address(0), Status.DEADLINE_EXCEEDED.withDescription("deadline exceeded"), new Metadata(), clientLeft);
    }
    assertThat(outliers.isEjected(address(0))).isFalse();

    // The client is still there: the upstream reset the stream.
    callEnds(address(0), Status.CANCELLED.withDescription("RST_STREAM"), new Metadata(), attempt(List.of(), false, false));
    callEnds(address(0), Status.CANCELLED.withDescription("llmproxy: upstream stalled"), new Metadata(),
        attempt(List.of(), false, true));
    assertThat(outliers.isEjected(address(0))).isTrue();
  }

  @Test
  void aMessageTooLargeIsTheUpstreamsFaultNotABusyAnswer() {
    start("round_robin", 3);
    Status tooLarge = Status.RESOURCE_EXHAUSTED.withDescription("gRPC message exceeds maximum size 4194304: 5000000");
    callEnds(address(2), tooLarge, new Metadata(), null);
    callEnds(address(2), tooLarge, new Metadata(), null);

    assertThat(outliers.isEjected(address(2))).isTrue();
  }

  @ParameterizedTest
  @ValueSource(strings = {"round_robin", "least_outstanding"})
  void aCallAvoidsTheUpstreamsItAlreadyFailedOnWithoutTheirHealthChanging(String policy) {
    start(policy, 3);
    UpstreamAttempt retry = attempt(List.of(address(1)), false, false);

    assertThat(upstreamsOf(30, retry)).containsExactlyInAnyOrder(address(0), address(2));
    assertThat(upstreamsOf(30, null)).contains(address(1));
  }

  @ParameterizedTest
  @ValueSource(strings = {"round_robin", "least_outstanding", "pick_first"})
  void whenEveryUpstreamIsAvoidedAPickStillTakesOne(String policy) {
    start(policy, 3);
    UpstreamAttempt failedEverywhere = attempt(List.of(address(0), address(1), address(2)), false, false);
    for (int i = 0; i < 3; i++) {
      callEnds(address(i), Status.RESOURCE_EXHAUSTED, new Metadata(), null); // and all busy
    }

    for (int i = 0; i < 10; i++) {
      assertThat(pick(failedEverywhere).getSubchannel()).isNotNull();
    }
  }

  @Test
  void noMoreThanTheRoutesShareOfUpstreamsIsEjectedAtOnce() {
    start("round_robin", 3);
    fault(address(0));
    fault(address(0));
    fault(address(1));
    fault(address(1));
    fault(address(1));

    assertThat(outliers.isEjected(address(0))).isTrue();
    assertThat(outliers.isEjected(address(1))).as("50% of 3 allows one").isFalse();
    assertThat(outliers.ejectedCount()).isEqualTo(1);
  }

  /**
   * grpc's default pick_first is one subchannel over every address, whose picker always returns it:
   * asking again cannot avoid anything. The ejected address is taken from the child's addresses, so
   * the subchannel leaves it, and given back when the ejection ends.
   */
  @Test
  void pickFirstLeavesAnEjectedAddressAndGetsItBackWhenTheEjectionEnds() {
    start("pick_first", 3);
    assertThat(helper.subchannels).hasSize(1);
    FakeSubchannel only = helper.subchannels.get(0);
    PickResult first = pick(null);
    end(first, address(0), Status.UNAVAILABLE, new Metadata());
    end(pick(null), address(0), Status.UNAVAILABLE, new Metadata());

    assertThat(outliers.isEjected(address(0))).isTrue();
    assertThat(addressesOf(only)).containsExactly(address(1), address(2));
    timers.advance(Duration.ofSeconds(10));
    assertThat(addressesOf(only)).containsExactly(address(0), address(1), address(2));
  }

  @Test
  void theAddressesWithheldFromPickFirstNeverIncludeAllOfThem() {
    OutlierDetection everything = new OutlierDetection(1, Duration.ofSeconds(10), Duration.ofSeconds(80), 100,
        Duration.ofSeconds(1));
    List<EquivalentAddressGroup> groups = List.of(new EquivalentAddressGroup(address(0)),
        new EquivalentAddressGroup(address(1)));
    Object config = new AvoidanceLoadBalancerProvider().parseLoadBalancingPolicyConfig(
        cast((Map<?, ?>) AvoidanceLoadBalancerProvider.wrap(Map.of("pick_first", Map.of()), everything)
            .get(AvoidanceLoadBalancerProvider.POLICY_NAME))).getConfig();
    helper.syncContext.execute(() -> balancer.acceptResolvedAddresses(
        ResolvedAddresses.newBuilder().setAddresses(groups).setLoadBalancingPolicyConfig(config).build()));
    readyAll();
    FakeSubchannel only = helper.subchannels.get(0);
    end(pick(null), address(0), Status.UNAVAILABLE, new Metadata());
    end(pick(null), address(1), Status.UNAVAILABLE, new Metadata());

    assertThat(outliers.ejectedCount()).isEqualTo(2);
    assertThat(addressesOf(only)).containsExactly(address(0), address(1));
    assertThat(pick(null).getSubchannel()).isSameAs(only);
  }

  private static List<SocketAddress> addressesOf(FakeSubchannel subchannel) {
    List<SocketAddress> addresses = new ArrayList<>();
    subchannel.addresses.forEach(group -> addresses.addAll(group.getAddresses()));
    return addresses;
  }
}
