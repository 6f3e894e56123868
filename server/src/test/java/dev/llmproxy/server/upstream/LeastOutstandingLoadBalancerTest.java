package dev.llmproxy.server.upstream;

import static io.grpc.ConnectivityState.CONNECTING;
import static io.grpc.ConnectivityState.IDLE;
import static io.grpc.ConnectivityState.READY;
import static io.grpc.ConnectivityState.TRANSIENT_FAILURE;
import static org.assertj.core.api.Assertions.assertThat;

import dev.llmproxy.server.upstream.FakeHelper.FakeSubchannel;
import io.grpc.Attributes;
import io.grpc.ConnectivityStateInfo;
import io.grpc.EquivalentAddressGroup;
import io.grpc.LoadBalancer.PickResult;
import io.grpc.LoadBalancer.ResolvedAddresses;
import io.grpc.Status;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class LeastOutstandingLoadBalancerTest {
  private final FakeHelper helper = new FakeHelper();
  private final LeastOutstandingLoadBalancer balancer =
      new LeastOutstandingLoadBalancer(helper, new Random(11));

  @AfterEach
  void shutDown() {
    helper.syncContext.execute(balancer::shutdown);
  }

  @Test
  void createsOneSubchannelPerEndpointAndConnectsAll() {
    accept(3, null);

    assertThat(helper.subchannels).hasSize(3);
    assertThat(helper.subchannels).allSatisfy(subchannel -> {
      assertThat(subchannel.addresses).hasSize(1);
      assertThat(subchannel.connectionRequests).isEqualTo(1);
    });
  }

  @Test
  void reportsConnectingUntilAnEndpointIsReady() {
    accept(3, null);

    assertThat(helper.state).isEqualTo(CONNECTING);
    PickResult result = helper.picker.pickSubchannel(FakePickArgs.DEFAULT);
    assertThat(result.hasResult()).isFalse();
    assertThat(result.getStatus().isOk()).isTrue();
  }

  @Test
  void picksOnlyReadyEndpoints() {
    accept(3, null);
    setState(0, ConnectivityStateInfo.forNonError(READY));
    setState(2, ConnectivityStateInfo.forNonError(READY));

    assertThat(helper.state).isEqualTo(READY);
    assertThat(pickedSubchannels(300))
        .containsExactlyInAnyOrder(helper.subchannels.get(0), helper.subchannels.get(2));
  }

  @Test
  void dropsAnEndpointThatLeavesReady() {
    accept(3, null);
    for (int i = 0; i < 3; i++) {
      setState(i, ConnectivityStateInfo.forNonError(READY));
    }

    setState(1, ConnectivityStateInfo.forTransientFailure(
        Status.UNAVAILABLE.withDescription("health-check responded NOT_SERVING")));

    assertThat(helper.state).isEqualTo(READY);
    assertThat(pickedSubchannels(300)).doesNotContain(helper.subchannels.get(1)).hasSize(2);
  }

  @Test
  void reportsTransientFailureWithAChildsErrorWhenNoEndpointIsReadyOrConnecting() {
    accept(2, null);
    Status refused = Status.UNAVAILABLE.withDescription("connection refused");
    setState(0, ConnectivityStateInfo.forTransientFailure(refused));
    setState(1, ConnectivityStateInfo.forTransientFailure(refused));

    assertThat(helper.state).isEqualTo(TRANSIENT_FAILURE);
    PickResult result = helper.picker.pickSubchannel(FakePickArgs.DEFAULT);
    assertThat(result.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
    assertThat(result.getStatus().getDescription()).isEqualTo("connection refused");
  }

  @Test
  void staysConnectingWhileAnyEndpointIsStillConnecting() {
    accept(2, null);
    setState(0, ConnectivityStateInfo.forTransientFailure(Status.UNAVAILABLE));
    setState(1, ConnectivityStateInfo.forNonError(CONNECTING));

    assertThat(helper.state).isEqualTo(CONNECTING);
  }

  @Test
  void reconnectsAnEndpointThatFallsIdle() {
    accept(1, null);
    setState(0, ConnectivityStateInfo.forNonError(READY));
    int before = helper.subchannels.get(0).connectionRequests;

    setState(0, ConnectivityStateInfo.forNonError(IDLE));

    assertThat(helper.subchannels.get(0).connectionRequests).isGreaterThan(before);
  }

  @Test
  void takesChoiceCountFromThePolicyConfig() {
    accept(3, new LeastOutstandingLoadBalancerProvider.Config(3));

    assertThat(balancer.choiceCount()).isEqualTo(3);
  }

  @Test
  void keepsTheOldChoiceCountWhenAnUpdateIsRejected() {
    accept(3, new LeastOutstandingLoadBalancerProvider.Config(3));

    Status status = acceptAddresses(List.of(), new LeastOutstandingLoadBalancerProvider.Config(5));

    assertThat(status.isOk()).isFalse();
    assertThat(balancer.choiceCount()).isEqualTo(3);
  }

  @Test
  void shutsDownSubchannelsOfRemovedEndpoints() {
    accept(3, null);

    List<EquivalentAddressGroup> remaining = endpoints(2);

    acceptAddresses(remaining, null);

    // Children are created from a random offset, so find them by address.
    assertThat(helper.subchannels).hasSize(3).allSatisfy(subchannel -> assertThat(
        subchannel.shutdown).isEqualTo(!remaining.contains(subchannel.addresses.get(0))));
  }

  private void accept(int endpoints, Object config) {
    assertThat(acceptAddresses(endpoints(endpoints), config).isOk()).isTrue();
  }

  private Status acceptAddresses(List<EquivalentAddressGroup> addresses, Object config) {
    Status[] status = new Status[1];
    helper.syncContext.execute(() -> status[0] = balancer.acceptResolvedAddresses(
        ResolvedAddresses.newBuilder()
            .setAddresses(addresses)
            .setAttributes(Attributes.EMPTY)
            .setLoadBalancingPolicyConfig(config)
            .build()));
    return status[0];
  }

  private static List<EquivalentAddressGroup> endpoints(int count) {
    List<EquivalentAddressGroup> groups = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      groups.add(new EquivalentAddressGroup(new InetSocketAddress("10.0.0." + (i + 1), 7000)));
    }
    return groups;
  }

  private void setState(int subchannel, ConnectivityStateInfo state) {
    helper.syncContext.execute(() -> helper.subchannels.get(subchannel).setState(state));
  }

  private Set<FakeSubchannel> pickedSubchannels(int picks) {
    Set<FakeSubchannel> picked = new HashSet<>();
    for (int i = 0; i < picks; i++) {
      PickResult result = helper.picker.pickSubchannel(FakePickArgs.DEFAULT);
      assertThat(result.getStatus().isOk()).isTrue();
      picked.add((FakeSubchannel) result.getSubchannel());
    }
    return picked;
  }
}
